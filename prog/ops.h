// The op table's vocabulary (prog/ops.cc holds the table): every op a
// program can hold, the iommu-core API calls first, and their argument
// slots. The one list of API calls: the harness runs them, the oracle and
// the race harness judge them by these kinds and names.
#pragma once

#include <cstdint>

namespace vtd::prog {

enum class OpKind : uint8_t {
  // iommu-core API
  Domain,
  Free,
  Map,
  Unmap,
  Probe,
  Release,
  Vfs,
  SurpriseRemove,
  Attach,
  Replace,
  Detach,
  SetPasid,
  RemovePasid,
  // fault injection, applied to the next API op
  FailNth,
  Inject,
  // hardware steps (top level or at a schedule point)
  Dma,
  Memcpy,
  Walk,
  ResumeWalks,
  Evict,
  Writeback,
  ProcessQueue,
  // schedule step only: an op of the second CPU
  Cpu2,
  kCount
};

// Argument slots. An op's spec lists which it takes, in order.
enum class Arg : uint8_t {
  Dom,
  DType,
  Parent,
  Levels,
  Dev,
  Ats,
  PasidCap,
  Pasid,
  Iova,
  Dst,
  Pa,
  Size,
  Perm,
  Access,
  N,
  Split,
  Cache,
  QErr,
  Index,
  kCount
};

// Op kind facts.
const char* op_name(OpKind k);
bool is_api(OpKind k);            // an iommu-core call
bool is_hw_step(OpKind k);        // may run at a schedule point
bool is_cpu2_op(OpKind k);        // may run on the second CPU
OpKind cpu2_kind(uint8_t index);  // index into the cpu2 op kinds (wraps)

}  // namespace vtd::prog
