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
  // vIOMMU (section 13, seeds/003): the VMM assigns a host device to the
  // guest; the guest stores into its own tables and queues invalidations
  // into the virtual unit (g.entry, g.ctx, g.inv), turns remapping off or
  // resets the unit (g.dmar, g.reset), or calls its own driver's API (the
  // g.-prefixed copies of the iommu-core calls, two-level programs).
  Assign,
  GEntry,
  GCtx,
  GInv,
  GDmar,
  GReset,
  GDomain,
  GFree,
  GMap,
  GUnmap,
  GAttach,
  GReplace,
  GDetach,
  GPasidSet,
  GPasidRemove,
  kCount
};

// What an op is: an iommu-core call (run through the driver and judged by
// the oracle), a fault injection for the next call, or a hardware step
// (top level or at a schedule point). cpu2 is a schedule step only. A
// guest op is the vIOMMU's (section 13): it needs a propagator (the
// program's `viommu` line) and runs through the virtual unit.
enum class OpClass : uint8_t { Api, Inject, Step, Cpu2, Guest };

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
  // vIOMMU (guest ops)
  Host,     // the host device an assign hands to the guest
  Pgtt,     // guest PASID entry: PGTT (1 first-stage, 2 second-stage, 3 nested, 4 pass-through)
  Did,      // a guest DID (entries, descriptors)
  Ptr,      // guest PASID entry: FSPTPTR (a page address)
  Fspm,     // guest PASID entry: FSPM (0 4-level, 1 5-level, 2-3 reserved)
  S1Flags,  // guest PASID entry: SRE, WPE, EAFE as IOMMU_VTD_S1_* bits
  Np,       // the entry is written not present (P=0)
  DescType,
  Gran,    // a descriptor's G field
  NoWait,  // the descriptor goes without a wait descriptor after it
  Mode,    // g.dmar: off, on (scalable), legacy
  kCount
};

// Op kind facts.
const char* op_name(OpKind k);
OpClass op_class(OpKind k);
bool is_api(OpKind k);      // an iommu-core call
bool is_hw_step(OpKind k);  // may run at a schedule point
bool is_cpu2_op(OpKind k);  // may run on the second CPU
bool is_guest(OpKind k);    // a vIOMMU op: runs only in a program that names a propagator
// Index into the cpu2 op kinds of a format version (wraps).
OpKind cpu2_kind(uint8_t index, uint8_t version = 3);

}  // namespace vtd::prog
