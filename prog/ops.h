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
  // Ops added by format version 3 go here, after cpu2, so that every
  // version-2 record keeps its number (binary.cc): live update (DESIGN.md
  // section 12) and the vIOMMU (section 13).
  //
  // Live update: iommu-core calls of the old kernel (preserve...), its
  // shutdown and the kexec, the new kernel's IOMMU init (restore) and the
  // end of the session (finish). Between kexec and restore no kernel runs:
  // API calls fail with -ENODEV, hardware steps run on what the unit kept.
  PreserveDomain,
  UnpreserveDomain,
  Preserve,
  Unpreserve,
  Kexec,
  Restore,
  Finish,
  kCount
};

// What an op is: an iommu-core call (run through the driver and judged by
// the oracle), a fault injection for the next call, or a hardware step
// (top level or at a schedule point). cpu2 is a schedule step only.
enum class OpClass : uint8_t { Api, Inject, Step, Cpu2 };

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
OpClass op_class(OpKind k);
bool is_api(OpKind k);      // an iommu-core call
bool is_hw_step(OpKind k);  // may run at a schedule point
bool is_cpu2_op(OpKind k);  // may run on the second CPU
// Index into the cpu2 op kinds of a format version (wraps).
OpKind cpu2_kind(uint8_t index, uint8_t version = 3);

}  // namespace vtd::prog
