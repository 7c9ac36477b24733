#include "simulator/walker.h"

#include <algorithm>

#include "simulator/registers.h"

namespace vtd::sim {
namespace {

uint32_t factorial(uint32_t n) {
  return n <= 1 ? 1 : n * factorial(n - 1);
}

// The index-th permutation of 0..n-1 in lexicographic order.
void nth_permutation(uint32_t n, uint32_t index, std::array<uint8_t, 8>& out) {
  std::array<uint8_t, 8> pool{0, 1, 2, 3, 4, 5, 6, 7};
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t f = factorial(n - 1 - i);
    uint32_t k = index / f;
    index %= f;
    out[i] = pool[k];
    for (uint32_t j = k; j + 1 < n - i; ++j) pool[j] = pool[j + 1];
  }
}

PageType table_type(EntryKind k) {
  switch (k) {
    case EntryKind::LegacyRoot:
    case EntryKind::ScalableRoot:
      return PageType::Root;
    case EntryKind::LegacyContext:
    case EntryKind::ScalableContext:
      return PageType::Context;
    case EntryKind::PasidDir:
      return PageType::PasidDir;
    case EntryKind::PasidEntry:
      return PageType::PasidTable;
    default:
      return PageType::PageTable;
  }
}

}  // namespace

void Walker::emit(const HwEvent& e) const {
  if (hw_.obs) hw_.obs->on_event(e);
}

void Walker::start(Walk& w, const WalkRequest& r) const {
  w = Walk();
  w.req_ = r;
  w.pasid_ = r.pasid;
}

void Walker::run(Walk& w, int split) const {
  while (!w.done()) {
    step(w);
    if (split > 0 && w.parked() && w.got_ >= split) return;
  }
}

uint64_t Walker::read_word(PhysAddr pa, PageType expect, PhysAddr ptr_from, const Walk& w) const {
  if (hw_.reads) hw_.reads->push_back(page_of(pa));
  PageType t = hw_.mem->type(pa);
  Hazard h = Hazard::None;
  if (t == PageType::Free)
    h = Hazard::FreedPage;
  else if (t != expect)
    h = Hazard::WrongType;
  else if (hw_.mem->hw_poisoned(pa))
    h = Hazard::StaleLine;
  else if (ptr_from) {
    // The pointer that led here was written by some CPU store; if that CPU
    // still has older stores to this table pending, the table's contents
    // were not visible when the pointer became visible (missing wmb).
    StoreTag tag = hw_.mem->last_tag(ptr_from);
    if (tag)
      for (const SimCpu* c : hw_.cpus)
        if (c->pending_before(page_of(pa), tag)) h = Hazard::Unpublished;
  }
  if (h != Hazard::None && hw_.obs) {
    HwEvent e;
    e.kind = EventKind::UnsafeRead;
    e.hazard = h;
    e.page_type = t;
    e.addr = pa;
    e.sid = w.req_.sid;
    e.pasid = w.pasid_;
    e.iova = w.req_.iova;
    emit(e);
  }
  return hw_.mem->hw_load(pa);
}

// The quantum holding the entry's present bit (for a scalable root entry,
// the bit of the half this requester uses).
static int present_word(EntryKind k, Sid sid) {
  return k == EntryKind::ScalableRoot && sid.devfn() >= 128 ? 1 : 0;
}

void Walker::begin_entry(Walk& w, EntryKind k, PhysAddr pa, PhysAddr ptr_from) const {
  const Format& f = format_of(k);
  int qw = hw_.cfg->quantum_words();
  w.kind_ = k;
  w.entry_pa_ = pa;
  w.ptr_from_ = ptr_from;
  w.cur_ = Entry(k);
  w.nq_ = uint8_t((f.fetch_words + qw - 1) / qw);
  w.got_ = 0;
  // The quantum holding P comes first; the others follow in any order and
  // at any later time. Software's "P last" setup needs no invalidation
  // (VTD-REFERENCE.md) only because a fetch that sees P=0 stops there.
  const uint8_t first = uint8_t(present_word(k, w.req_.sid) / qw);
  std::array<uint8_t, 8> rest{};
  nth_permutation(uint32_t(w.nq_ - 1), 0, rest);
  if (w.nq_ > 2 && hw_.schedule) {
    uint32_t n = factorial(w.nq_ - 1u);
    nth_permutation(w.nq_ - 1u, hw_.schedule->choose(ChoiceKind::ChunkOrder, n) % n, rest);
  }
  w.order_[0] = first;
  for (uint32_t i = 0; i + 1 < w.nq_; ++i)
    w.order_[i + 1] = uint8_t(rest[i] >= first ? rest[i] + 1 : rest[i]);
}

void Walker::fetch_quantum(Walk& w) const {
  const Format& f = format_of(w.kind_);
  int qw = hw_.cfg->quantum_words();
  int q = w.order_[w.got_];
  PageType expect = table_type(w.kind_);
  HwEvent e;
  e.kind = EventKind::Read;
  e.entry_kind = w.kind_;
  e.sid = w.req_.sid;
  e.pasid = w.pasid_;
  e.iova = w.req_.iova;
  e.count = uint32_t(q);
  const int first = q * qw;
  const int n = std::min(qw, int(f.fetch_words) - first);
  const PhysAddr pa = w.entry_pa_ + 8 * uint64_t(first);
  uint64_t v[kMaxWords] = {};
  for (int i = 0; i < n; ++i)
    v[i] = read_word(pa + 8 * uint64_t(i), expect, w.ptr_from_, w);  // P6 checks
  // One quantum is one atomic read: both words come from the same instant
  // (real memory, memory_real.cc, reads them with one atomic load; the
  // model reads the same values again, word by word).
  hw_.mem->hw_load_quantum(pa, n, v);
  for (int i = 0; i < n; ++i) {
    w.cur_.w[size_t(first + i)] = v[i];
    (i == 0 ? e.v0 : e.v1) = v[i];
  }
  e.addr = pa;
  ++w.got_;
  emit(e);
  // A fetch that finds the entry not present goes no further.
  if (w.got_ == 1 && w.nq_ > 1) {
    Entry half = w.cur_;
    bool present = w.kind_ == EntryKind::ScalableRoot
                       ? half.get(present_word(w.kind_, w.req_.sid) ? Field::UP : Field::LP) != 0
                       : half.present();
    if (!present) w.got_ = w.nq_;
  }
}

void Walker::fail(Walk& w, FaultReason r, bool fpd) const {
  w.result_.fault = r;
  w.result_.fpd = fpd;
  w.phase_ = WalkPhase::Done;
  Fault f{r, w.req_.sid, w.req_.pasid, w.req_.iova, w.req_.access};
  if (!fpd) hw_.faults->record(f);
  if (hw_.obs) {
    HwEvent e;
    e.kind = EventKind::Fault;
    e.fault = r;
    e.sid = w.req_.sid;
    e.pasid = w.pasid_;
    e.iova = w.req_.iova;
    e.access = w.req_.access;
    emit(e);
  }
}

void Walker::step(Walk& w) const {
  if (w.done()) return;
  if (w.nq_ && w.got_ < w.nq_) {
    fetch_quantum(w);
    if (w.got_ == w.nq_) entry_done(w);
    return;
  }
  const Sid sid = w.req_.sid;
  switch (w.phase_) {
    case WalkPhase::Root: {
      if (const ContextLine* l = hw_.caches->ctx_lookup(sid)) {
        w.ctx_ = l->entry;
        w.kind_ = l->entry.kind;
        w.nq_ = 0;
        w.entry_pa_ = 0;
        context_ready(w);
        return;
      }
      bool sm = hw_.rtaddr & rtaddr::TTM_SCALABLE;
      PhysAddr root = hw_.rtaddr & ~(kPageSize - 1);
      begin_entry(w, sm ? EntryKind::ScalableRoot : EntryKind::LegacyRoot, root + 16 * sid.bus(),
                  0);
      return;
    }
    case WalkPhase::PasidDir: {
      if (const PasidLine* l = hw_.caches->pasid_lookup(sid, w.pasid_)) {
        w.pe_ = l->entry;
        w.nq_ = 0;
        w.entry_pa_ = 0;
        pasid_ready(w);
        return;
      }
      PhysAddr dir = w.ctx_.get(Field::PASIDDIRPTR);
      begin_entry(w, EntryKind::PasidDir, dir + 8 * uint64_t(w.pasid_ >> 6), w.ptr_from_);
      return;
    }
    case WalkPhase::Tables:
      tables(w);
      return;
    default:
      return;  // Context / PasidEntry are always mid-entry here
  }
}

void Walker::entry_done(Walk& w) const {
  const Entry& e = w.cur_;
  if (hw_.obs) {
    HwEvent ev;
    ev.kind = EventKind::EntryFetched;
    ev.entry_kind = e.kind;
    ev.entry = &w.cur_;
    ev.addr = w.entry_pa_;
    ev.sid = w.req_.sid;
    ev.pasid = w.pasid_;
    ev.iova = w.req_.iova;
    ev.count = w.nq_;
    emit(ev);
  }
  const Sid sid = w.req_.sid;
  FaultReason f = decode(e);
  switch (e.kind) {
    case EntryKind::LegacyRoot:
      if (f != FaultReason::None) return fail(w, f, false);
      w.phase_ = WalkPhase::Context;
      begin_entry(w, EntryKind::LegacyContext, e.get(Field::CTP) + 16 * uint64_t(sid.devfn()),
                  w.entry_pa_);
      return;
    case EntryKind::ScalableRoot: {
      if (f != FaultReason::None) return fail(w, f, false);
      bool upper = sid.devfn() >= 128;
      if (!e.get(upper ? Field::UP : Field::LP)) return fail(w, FaultReason::RootNotPresent, false);
      PhysAddr ctp = e.get(upper ? Field::UCTP : Field::LCTP);
      w.phase_ = WalkPhase::Context;
      begin_entry(w, EntryKind::ScalableContext, ctp + 32 * uint64_t(sid.devfn() & 0x7f),
                  w.entry_pa_ + (upper ? 8 : 0));
      return;
    }
    case EntryKind::LegacyContext:
    case EntryKind::ScalableContext: {
      // Caching mode lets hardware cache not-present and faulting entries
      // too (spec 6.1); without it only entries that decode cleanly.
      if (f == FaultReason::None || hw_.cfg->caching_mode)
        // A not-present entry cached under CM=1 is tagged DID 0 (spec 6.1).
        hw_.caches->ctx_fill(
            sid, e,
            e.kind == EntryKind::LegacyContext && e.present() ? uint16_t(e.get(Field::DID)) : 0);
      w.ctx_ = e;
      context_ready(w);
      return;
    }
    case EntryKind::PasidDir:
      if (f != FaultReason::None) return fail(w, f, e.present() && e.get(Field::FPD));
      w.phase_ = WalkPhase::PasidEntry;
      begin_entry(w, EntryKind::PasidEntry,
                  e.get(Field::SMPTBLPTR) + 64 * uint64_t(w.pasid_ & 0x3f), w.entry_pa_);
      return;
    case EntryKind::PasidEntry:
      if (f == FaultReason::None || hw_.cfg->caching_mode) hw_.caches->pasid_fill(sid, w.pasid_, e);
      w.pe_ = e;
      pasid_ready(w);
      return;
    default:
      return;
  }
}

bool Walker::accept(Walk& w, const Entry& e) const {
  const bool fpd = e.present() && e.get(Field::FPD);
  if (FaultReason f = decode(e); f != FaultReason::None) {
    fail(w, f, fpd);
    return false;
  }
  w.result_.fpd = fpd;
  return true;
}

void Walker::context_ready(Walk& w) const {
  const Entry& c = w.ctx_;
  if (!accept(w, c)) return;
  Translation& t = w.result_;
  const bool fpd = t.fpd;
  // Pointers in the context entry lead from the context entry's first word.
  w.ptr_from_ = w.entry_pa_;
  if (c.kind == EntryKind::LegacyContext) {
    if (w.req_.pasid != kNoPasid) return fail(w, FaultReason::PasidDisabled, fpd);
    t.did = uint16_t(c.get(Field::DID));
    t.ats = c.get(Field::TT) == kTtDevTlb;
    t.pgtt = c.get(Field::TT) == kTtPassThrough ? kPgttPassThrough : kPgttSecond;
    w.pe_ = Entry(EntryKind::PasidEntry);  // legacy: the context entry acts as one
    w.pe_.set(Field::P, 1).set(Field::PGTT, t.pgtt).set(Field::AW, c.get(Field::AW));
    w.pe_.set(Field::SSPTPTR, c.get(Field::SSPTPTR)).set(Field::DID, t.did);
    w.phase_ = WalkPhase::Tables;
    return;
  }
  t.ats = c.get(Field::DTE);
  if (w.req_.pasid == kNoPasid)
    w.pasid_ = uint32_t(c.get(Field::RID_PASID));
  else if (!c.get(Field::PASIDE))
    return fail(w, FaultReason::PasidDisabled, fpd);
  uint64_t dir_entries = 1ull << (c.get(Field::PDTS) + 7);
  if ((w.pasid_ >> 6) >= dir_entries) return fail(w, FaultReason::PasidOutOfRange, fpd);
  w.phase_ = WalkPhase::PasidDir;
}

void Walker::pasid_ready(Walk& w) const {
  const Entry& e = w.pe_;
  if (!accept(w, e)) return;
  Translation& t = w.result_;
  t.did = uint16_t(e.get(Field::DID));
  t.pgtt = uint8_t(e.get(Field::PGTT));
  w.ptr_from_ = w.entry_pa_;
  w.phase_ = WalkPhase::Tables;
}

FaultReason Walker::walk_stage(Walk& w, const Stage& s, Iova in, bool use_psc,
                               StageResult* out) const {
  if (s.mode.input_bits < 64 && (in >> s.mode.input_bits)) return FaultReason::AddressBeyondWidth;
  const uint16_t did = w.result_.did;
  const uint32_t tag = w.result_.pasid_tag;
  PhysAddr table = s.root;
  PhysAddr ptr_from = s.root_from;
  int level = s.mode.levels;
  if (use_psc) {
    for (int l = 1; l < s.mode.levels; ++l) {
      if (const PscLine* p = hw_.caches->psc_lookup(did, tag, uint8_t(l), in)) {
        table = p->table;
        level = l;
        ptr_from = 0;
        // A cached pointer into a table page freed and reused since: the
        // hardware now walks someone else's table (P6).
        if (p->gen != hw_.mem->generation(table) && hw_.obs) {
          HwEvent e;
          e.kind = EventKind::UnsafeRead;
          e.hazard = Hazard::FreedPage;
          e.page_type = hw_.mem->type(table);
          e.addr = table;
          e.sid = w.req_.sid;
          e.pasid = w.pasid_;
          e.iova = in;
          emit(e);
        }
        break;
      }
    }
  }
  const EntryKind kind = s.first_stage ? EntryKind::FsPte : EntryKind::SsPte;
  bool writable = true;
  for (;; --level) {
    PhysAddr pte_pa = table + 8 * uint64_t(level_index(in, level));
    Entry pte(kind);
    pte.w[0] = read_word(pte_pa, PageType::PageTable, ptr_from, w);
    if (hw_.obs) {
      HwEvent e;
      e.kind = EventKind::Read;
      e.entry_kind = kind;
      e.addr = pte_pa;
      e.v0 = pte.w[0];
      e.sid = w.req_.sid;
      e.pasid = w.pasid_;
      e.iova = in;
      emit(e);
    }
    if (hw_.mem->hw_poisoned(pte_pa)) return FaultReason::PteReserved;
    if (!pte.present()) return FaultReason::PteNotPresent;
    writable &= s.first_stage ? pte.get(Field::RW) != 0 : pte.get(Field::W) != 0;
    bool leaf = level == 1 || (pte.get(Field::PS) && level <= 3);
    PhysAddr next = pte.get(Field::ADDR);
    if (leaf) {
      out->pa = next + (in & (level_span(level) - 1));
      out->level = uint8_t(level);
      out->writable = writable;
      return FaultReason::None;
    }
    // A cached pointer stands for the levels above it, whose rights it must
    // keep (spec 6.2.4: the combined R/W); PscLine has no rights, so only
    // writable prefixes are cached.
    if (use_psc && writable)
      hw_.caches->psc_fill(did, tag, uint8_t(level - 1), in,
                           {next, s.root, hw_.mem->generation(next)});
    table = next;
    ptr_from = pte_pa;
  }
}

void Walker::tables(Walk& w) const {
  Translation& t = w.result_;
  const Entry& pe = w.pe_;
  const Iova iova = w.req_.iova;
  if (t.pgtt == kPgttPassThrough) {
    t.pa = iova;
    t.writable = true;
    t.level = 1;
    w.phase_ = WalkPhase::Done;
    return;
  }
  const bool fs = t.pgtt == kPgttFirst || t.pgtt == kPgttNested;
  t.pasid_tag = fs ? w.pasid_ : kNoPasid;  // spec 6.2.1: first-stage fills carry the PASID
  t.root = fs ? pe.get(Field::FSPTPTR) : pe.get(Field::SSPTPTR);
  if (const Translation* hit = hw_.caches->iotlb_lookup(t.did, t.pasid_tag, iova, w.req_.sid)) {
    Translation r = *hit;
    r.pa = hit->pa + (iova & (level_span(hit->level) - 1));
    r.fpd = t.fpd;
    r.ats = t.ats;
    t = r;
    if (w.req_.access == Access::Write && !t.writable)
      return fail(w, FaultReason::WriteDenied, t.fpd);
    w.phase_ = WalkPhase::Done;
    return;
  }
  Stage ss;
  ss.first_stage = false;
  ss.root = pe.get(Field::SSPTPTR);
  ss.root_from = w.ptr_from_;
  bool ss_ok = ss_mode_for_aw(uint8_t(pe.get(Field::AW)), &ss.mode);
  Stage st = ss;
  if (fs) {
    st.first_stage = true;
    st.root = pe.get(Field::FSPTPTR);
    st.root_from = w.ptr_from_ ? w.ptr_from_ + 16 : 0;  // FSPTPTR lives in val[2]
    fs_mode_for_fspm(uint8_t(pe.get(Field::FSPM)), &st.mode);
    // Nested (spec 3.8): stage-1 table pointers are GPAs. The model's VMM
    // pins guest page-table pages at GPA == HPA, so their second-stage walk
    // is the identity and is skipped; the stage-1 output is translated.
    if (t.pgtt == kPgttNested && !ss_ok) return fail(w, FaultReason::PasidEntryInvalid, t.fpd);
  } else if (!ss_ok) {
    return fail(w, FaultReason::ContextInvalid, t.fpd);
  }
  StageResult r;
  bool nested = t.pgtt == kPgttNested;
  FaultReason f = walk_stage(w, st, iova, !nested, &r);
  if (f == FaultReason::None && nested) {
    StageResult h;  // the first-stage output is a GPA: translate it too
    f = walk_stage(w, ss, r.pa, false, &h);
    h.writable &= r.writable;
    h.level = 1;
    r = h;
  }
  if (f != FaultReason::None) return fail(w, f, t.fpd);
  t.pa = r.pa;
  t.level = r.level;
  t.writable = r.writable;
  hw_.caches->iotlb_fill(iova, t, w.req_.sid, w.pasid_);
  if (w.req_.access == Access::Write && !t.writable)
    return fail(w, FaultReason::WriteDenied, t.fpd);
  w.phase_ = WalkPhase::Done;
}

}  // namespace vtd::sim
