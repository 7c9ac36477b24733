#include "simulator/iommu.h"

namespace vtd::sim {

Iommu::Iommu(const Config& cfg, PhysMemory& mem)
    : cfg_(cfg), mem_(mem), queue_(cfg_, mem, caches_), walker_(hw_) {
  hw_.cfg = &cfg_;
  hw_.mem = &mem_;
  hw_.caches = &caches_;
  hw_.faults = &faults_;
  queue_.set_device_present([this](Sid s) { return device_present(s); });
  queue_.set_drain([this] { resume_walks(); });
}

bool Iommu::walk_split(const WalkRequest& r, int split) {
  if (!translating()) return false;  // with TE clear nothing is walked
  Walk w;
  walker_.start(w, r);
  walker_.run(w, split);
  if (w.done()) return false;
  parked_.push_back(w);
  return true;
}

void Iommu::resume_walks() {
  // Finishing a walk may trigger nothing that parks again; take the list.
  std::vector<Walk> walks;
  walks.swap(parked_);
  for (Walk& w : walks) walker_.run(w);
}

void Iommu::set_observer(Observer* o) {
  hw_.obs = o;
  caches_.set_observer(o);
  queue_.set_observer(o);
}

uint64_t read_register(Reg r, const Config& cfg, uint64_t rtaddr, const InvQueue& queue) {
  switch (r) {
    case Reg::CAP:
      return cfg.cap();
    case Reg::ECAP:
      return cfg.ecap();
    case Reg::RTADDR:
      return rtaddr;
    default:
      return queue.read(r);
  }
}

uint64_t Iommu::mmio_read(Reg r) {
  if (r == Reg::GSTS) return gsts_;
  return read_register(r, cfg_, rtaddr_reg_, queue_);
}

void Iommu::mmio_write(Reg r, uint64_t v) {
  switch (r) {
    case Reg::CAP:
    case Reg::ECAP:
      return;  // read-only
    case Reg::RTADDR:
      rtaddr_reg_ = v;  // used from the next SRTP on (spec 11.4.6)
      return;
    case Reg::GSTS:
      return;  // read-only
    case Reg::GCMD:
      // TE and QIE are levels, SRTP a one-shot command (spec 11.4.4).
      if (v & gcmd::SRTP) {
        hw_.rtaddr = rtaddr_reg_;
        gsts_ |= gsts::RTPS;
      }
      gsts_ = (gsts_ & ~(gsts::TES | gsts::QIES)) | (v & gcmd::TE ? gsts::TES : 0) |
              (v & gcmd::QIE ? gsts::QIES : 0);
      return;
    default:
      queue_.write(r, v);
      return;
  }
}

void Iommu::idle_progress() {
  process_queue(UINT32_MAX);
}

uint32_t Iommu::process_queue(uint32_t max) {
  // With QIE clear the hardware does not fetch descriptors (spec 6.5.2).
  return gsts_ & gsts::QIES ? queue_.process(max) : 0;
}

Translation Iommu::translate(const WalkRequest& r) {
  Walk w;
  walker_.start(w, r);
  walker_.run(w);
  return w.result();
}

DmaResult Iommu::dma(const DmaRequest& r) {
  DmaResult res;
  if (!device_present(r.sid)) {
    res.xlat.fault = FaultReason::DeviceAbsent;  // nothing behind the requester any more
  } else if (!translating()) {
    // Translation disabled (GSTS.TES=0): requests are not remapped, the
    // IOVA is the physical address (spec 11.4.4, TE).
    res.xlat.pa = r.iova;
    res.xlat.writable = true;
  } else {
    const Translation* cached =
        device_ats(r.sid) ? caches_.devtlb_lookup(r.sid, r.pasid, r.iova) : nullptr;
    if (cached) {
      res.xlat = *cached;
      res.xlat.pa = cached->pa + (r.iova & (level_span(cached->level) - 1));
      res.via_devtlb = true;
      if (r.access == Access::Write && !res.xlat.writable)
        res.xlat.fault = FaultReason::WriteDenied;
    } else {
      // ATS: a device with a device-TLB asks for the translation and keeps it.
      res.xlat = translate({r.sid, r.pasid, r.iova, r.access});
      if (res.xlat.ok() && res.xlat.ats && device_ats(r.sid))
        caches_.devtlb_fill(r.sid, r.pasid, r.iova, res.xlat);
    }
    if (res.xlat.ok()) {
      PhysAddr pa = res.xlat.pa & ~7ull;
      res.done = true;
      // Only data pages take device writes: a wrong translation is judged by
      // the oracle, not allowed to scribble over the tables it would judge.
      if (r.access == Access::Write) {
        if (mem_.type(pa) == PageType::Data) mem_.hw_store(pa, r.value);
      } else {
        res.value = mem_.hw_load(pa);
      }
    }
  }
  if (hw_.obs) {
    HwEvent e;
    e.kind = EventKind::Dma;
    e.sid = r.sid;
    e.pasid = r.pasid;
    e.iova = r.iova;
    e.access = r.access;
    e.addr = res.xlat.pa;
    e.v0 = r.access == Access::Write ? r.value : res.value;
    e.fault = res.xlat.fault;
    e.xlat = &res.xlat;
    e.count = res.via_devtlb;
    hw_.obs->on_event(e);
  }
  return res;
}

bool Iommu::writeback_line(PhysAddr pa) {
  if (!mem_.line_dirty(pa)) return false;
  mem_.writeback(pa);
  if (hw_.obs) {
    HwEvent e;
    e.kind = EventKind::Writeback;
    e.addr = pa & ~(kLineSize - 1);
    hw_.obs->on_event(e);
  }
  return true;
}

void Iommu::device_plug(Sid sid, bool ats) {
  devices_[sid.v] = Device{true, ats};
}

void Iommu::device_unplug(Sid sid) {
  auto it = devices_.find(sid.v);
  if (it != devices_.end()) it->second.present = false;
  caches_.devtlb_drop_device(sid);
}

bool Iommu::device_present(Sid sid) const {
  auto it = devices_.find(sid.v);
  return it != devices_.end() && it->second.present;
}

bool Iommu::device_ats(Sid sid) const {
  auto it = devices_.find(sid.v);
  return it != devices_.end() && it->second.ats;
}

}  // namespace vtd::sim
