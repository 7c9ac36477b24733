#include "targets/steps.h"

#include <vector>

namespace vtd::harness {

using prog::Arg;
using prog::Op;
using prog::OpKind;

uint32_t pasid_arg(const Op& op) {
  uint64_t a = op.get(Arg::Pasid);
  return a == prog::kNoPasidArg ? sim::kNoPasid : uint32_t(a - 1);
}

oracle::ApiCall call_of(const Op& op) {
  oracle::ApiCall c;
  c.kind = op.kind;
  c.op = &op;  // the text only when a report needs it
  c.dom = drv::DomainId(op.get(Arg::Dom));
  c.parent = drv::DomainId(op.get(Arg::Parent));
  c.dtype = drv::DomainType(op.get(Arg::DType));
  c.sid = sim::Sid(uint16_t(op.get(Arg::Dev)));
  c.pasid = pasid_arg(op);
  c.iova = op.get(Arg::Iova);
  c.pa = op.get(Arg::Pa);
  c.size = prog::size_of(op);
  c.perm = uint8_t(op.get(Arg::Perm));
  c.n = uint8_t(op.get(Arg::N));
  c.ats = op.get(Arg::Ats);
  c.pasid_cap = op.get(Arg::PasidCap);
  return c;
}

void hw_step(sim::Machine& m, const Op& op, uint64_t* dma_value) {
  const sim::Sid sid(uint16_t(op.get(Arg::Dev)));
  // PASID 0 is RID_PASID, never given to a device (the kernel reserves it
  // for requests without PASID): a device uses it by sending none.
  const uint32_t pasid = pasid_arg(op) == 0 ? sim::kNoPasid : pasid_arg(op);
  switch (op.kind) {
    case OpKind::Dma: {
      bool write = op.get(Arg::Access);
      m.iommu.dma({sid, pasid, op.get(Arg::Iova), write ? sim::Access::Write : sim::Access::Read,
                   ++*dma_value});
      break;
    }
    case OpKind::Memcpy: {
      sim::DmaResult rd = m.iommu.dma({sid, pasid, op.get(Arg::Iova), sim::Access::Read, 0});
      if (rd.done) m.iommu.dma({sid, pasid, op.get(Arg::Dst), sim::Access::Write, rd.value});
      break;
    }
    case OpKind::Walk:
      m.iommu.walk_split({sid, pasid, op.get(Arg::Iova), sim::Access::Read},
                         int(op.get(Arg::Split)));
      break;
    case OpKind::ResumeWalks:
      m.iommu.resume_walks();
      break;
    case OpKind::Evict:
      m.iommu.evict(sim::CacheKind(op.get(Arg::Cache)), uint32_t(op.get(Arg::Index)));
      break;
    case OpKind::Writeback: {
      std::vector<sim::PhysAddr> dirty = m.mem.dirty_lines();
      if (!dirty.empty()) m.iommu.writeback_line(dirty[op.get(Arg::Index) % dirty.size()]);
      break;
    }
    case OpKind::ProcessQueue: {
      uint32_t n = uint32_t(op.get(Arg::N));
      m.iommu.process_queue(n ? n : UINT32_MAX);
      break;
    }
    default:
      break;
  }
}

}  // namespace vtd::harness
