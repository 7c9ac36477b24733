#include "targets/trace.h"

namespace vtd::trace {

using sim::EventKind;

std::vector<std::string> OpTrace::lines() const {
  std::vector<std::string> v;
  for (const Event& e : events)
    if (!e.text.empty()) v.push_back(e.text);
  return v;
}

void OpTrace::note(std::string line) {
  Event e;
  e.kind = Kind::Note;
  e.what = line;
  e.text = std::move(line);
  events.push_back(std::move(e));
}

const Event* find(const Trace& t, Ref r) {
  if (!r.valid() || r.op >= t.size() || r.ev >= t[r.op].events.size()) return nullptr;
  return &t[r.op].events[r.ev];
}

namespace {

// The fields of a cache line's key as describe() prints them: a hit is on
// the line that a fill with the same key made.
bool same_line(const Event& a, const Event& b) {
  if (a.cache != b.cache) return false;
  const bool by_sid = a.cache == sim::CacheKind::Context || a.cache == sim::CacheKind::Pasid ||
                      a.cache == sim::CacheKind::DevTlb;
  const bool by_iova = a.cache == sim::CacheKind::Iotlb || a.cache == sim::CacheKind::DevTlb ||
                       a.cache == sim::CacheKind::Psc;
  return (!by_sid || a.sid == b.sid) && a.pasid == b.pasid &&
         (a.cache == sim::CacheKind::DevTlb || a.did == b.did) && (!by_iova || a.iova == b.iova);
}

}  // namespace

// The read that began the assembly of entry `e` when it was in an earlier
// op: the walk was parked across ops (split walks, resume-walks).
Ref Recorder::parked(const Event& e, Ref self) const {
  Ref first;
  for (uint32_t op = self.op + 1; op-- > 0;) {
    const std::vector<Event>& ev = (*out_)[op].events;
    for (uint32_t i = op == self.op ? self.ev : uint32_t(ev.size()); i-- > 0;) {
      const Event& x = ev[i];
      if (x.kind != Kind::Hw || x.actor != Actor::Walker) continue;
      if (x.hw != EventKind::Read || x.entry_kind != e.entry_kind || x.addr < e.addr ||
          x.addr >= e.addr + 8u * e.words)
        return first.op == self.op ? Ref{} : first;
      first = {op, i};
    }
  }
  return first.op == self.op ? Ref{} : first;
}

Event& Recorder::add(Kind k, Actor a, std::string text) {
  Event& e = out_->back().events.emplace_back();
  e.kind = k;
  e.actor = a;
  e.point_kind = point_kind_;
  e.point = point_;
  e.text = std::move(text);
  return e;
}

void Recorder::begin_op(std::string text) {
  out_->push_back({std::move(text), "", {}});
  point_kind_ = sim::PointKind::Store;
  point_ = 0;
}

void Recorder::end_op(std::string status) {
  OpTrace& t = out_->back();
  t.status = std::move(status);
  // What each quantum the walker read holds now that the op returned.
  for (Event& e : t.events)
    if (e.kind == Kind::Hw && (e.hw == EventKind::Read || e.hw == EventKind::EntryFetched))
      for (int i = 0; i < e.words; ++i) e.after[i] = mem_.load(e.addr + 8 * uint64_t(i));
}

void Recorder::point(const sim::PreemptPoint& pp, sim::PointKind kind, uint32_t index) {
  if (out_->empty()) return;
  point_kind_ = kind;
  point_ = index;
  if (kind == sim::PointKind::Wait) {
    add(Kind::Wait, Actor::Cpu, "wait " + std::to_string(index)).index = index;
    return;
  }
  const std::string n = "store " + std::to_string(index);
  if (pp.kind == sim::PointKind::Writeback) {
    Event& e = add(Kind::Writeback, Actor::Cpu, n + ": writeback line " + sim::hex(pp.pa));
    e.index = index;
    e.addr = pp.pa;
    return;
  }
  Event& e = add(Kind::Store, Actor::Cpu,
                 n + ": [" + sim::hex(pp.pa) + "] = " + sim::hex(pp.value) + " (" +
                     sim::page_type_name(mem_.type(pp.pa)) + ")");
  e.index = index;
  e.addr = pp.pa;
  e.page = mem_.type(pp.pa);
  // A 128-bit store wrote both words of its quantum with one tag.
  const sim::StoreTag tag = mem_.last_tag(pp.pa);
  e.words = pp.pa % 16 == 0 && tag && mem_.last_tag(pp.pa + 8) == tag ? 2 : 1;
  // What each word held before this store: the op's last store to it, or
  // the value when the op began.
  for (int i = 0; i < e.words; ++i) {
    const sim::PhysAddr w = pp.pa + 8 * uint64_t(i);
    e.v[i] = i ? mem_.load(w) : pp.value;
    e.before[i] = mem_.epoch_value(w);
    const std::vector<Event>& ev = out_->back().events;
    for (size_t k = ev.size() - 1; k-- > 0;)
      if (ev[k].kind == Kind::Store && w >= ev[k].addr && w < ev[k].addr + 8u * ev[k].words) {
        e.before[i] = ev[k].v[(w - ev[k].addr) / 8];
        break;
      }
  }
}

void Recorder::step(sim::PointKind kind, uint32_t index, const prog::Op& step) {
  if (out_->empty()) return;
  Event& e = add(Kind::Step, Actor::Cpu,
                 "  @" + std::string(kind == sim::PointKind::Wait ? "wait " : "store ") +
                     std::to_string(index) + ": " + prog::op_text(step));
  e.index = index;
  e.what = prog::op_text(step);
}

void Recorder::nested(const prog::Op& op, const char* status) {
  if (out_->empty()) return;
  Event& e = add(Kind::Nested, Actor::Cpu, "  cpu2 " + prog::op_text(op) + " -> " + status);
  e.cpu = 1;
  e.what = prog::op_text(op) + " -> " + status;
}

void Recorder::blocked() {
  if (out_->empty()) return;
  Event& e = add(Kind::Blocked, Actor::Cpu, "  cpu2 waits: the op needs a lock cpu0 holds");
  e.cpu = 1;
  e.what = "waits: needs a lock cpu0 holds";
}

void Recorder::note(std::string line) {
  if (out_->empty()) return;
  Event& e = add(Kind::Note, Actor::Cpu, line);
  e.what = std::move(line);
}

void Recorder::hw(const sim::HwEvent& h) {
  if (out_->empty()) return;
  Actor a = Actor::Walker;
  switch (h.kind) {
    case EventKind::Read:
    case EventKind::EntryFetched:
    case EventKind::UnsafeRead:
    case EventKind::Fault:
      break;
    case EventKind::CacheFill:
    case EventKind::CacheHit:
    case EventKind::CacheInval:
    case EventKind::CacheEvict:
      a = Actor::Cache;
      break;
    case EventKind::Descriptor:
    case EventKind::QueueError:
      a = Actor::Queue;
      break;
    case EventKind::Dma:
      a = Actor::Dma;
      break;
    default:
      return;  // not in the trace
  }
  const Ref self{uint32_t(out_->size() - 1), uint32_t(out_->back().events.size())};
  Event& e = add(Kind::Hw, a, "    hw " + sim::describe(h));
  e.hw = h.kind;
  e.cache = h.cache;
  e.sid = h.sid;
  e.pasid = h.pasid;
  e.did = h.did;
  e.addr = h.addr;
  e.iova = h.iova;
  e.entry_kind = h.entry_kind;
  e.page = h.page_type;
  e.hazard = h.hazard;
  e.fault = h.fault;
  e.write = h.access == sim::Access::Write;
  e.count = h.count;
  if (h.entry) e.entry = *h.entry;
  if (h.xlat) e.xlat = *h.xlat;
  switch (h.kind) {
    case EventKind::Read:
      e.words = h.entry_kind == sim::EntryKind::SsPte || h.entry_kind == sim::EntryKind::FsPte ||
                        h.entry_kind == sim::EntryKind::PasidDir
                    ? 1
                    : 2;
      e.v[0] = h.v0;
      e.v[1] = h.v1;
      for (int i = 0; i < e.words; ++i) e.before[i] = mem_.epoch_value(h.addr + 8 * uint64_t(i));
      walker_ = self;
      break;
    case EventKind::EntryFetched:
      if (h.entry) {
        e.words = sim::format_of(h.entry_kind).fetch_words;
        for (int i = 0; i < e.words; ++i) {
          e.v[i] = h.entry->w[i];
          e.before[i] = mem_.epoch_value(h.addr + 8 * uint64_t(i));
        }
        e.from = parked(e, self);
      }
      walker_ = self;
      break;
    case EventKind::UnsafeRead:
      walker_ = self;
      break;
    case EventKind::Fault:
      walker_ = xlat_ = self;
      break;
    case EventKind::CacheFill:
      if (h.cache == sim::CacheKind::DevTlb && xlat_.valid())
        e.from = xlat_;
      else
        e.from = walker_;
      if (h.cache == sim::CacheKind::Iotlb || h.cache == sim::CacheKind::DevTlb) xlat_ = self;
      break;
    case EventKind::CacheHit:
      for (uint32_t op = self.op + 1; op-- > 0 && !e.from.valid();) {
        const std::vector<Event>& ev = (*out_)[op].events;
        for (uint32_t i = op == self.op ? self.ev : uint32_t(ev.size()); i-- > 0;)
          if (ev[i].kind == Kind::Hw && ev[i].hw == EventKind::CacheFill && same_line(ev[i], e)) {
            e.from = {op, i};
            break;
          }
      }
      if (h.cache == sim::CacheKind::Iotlb || h.cache == sim::CacheKind::DevTlb) xlat_ = self;
      break;
    case EventKind::Descriptor:
    case EventKind::QueueError:
      e.words = 2;
      e.v[0] = h.v0;
      e.v[1] = h.v1;
      break;
    case EventKind::Dma:
      e.from = xlat_;
      walker_ = xlat_ = Ref{};
      break;
    default:
      break;
  }
}

}  // namespace vtd::trace
