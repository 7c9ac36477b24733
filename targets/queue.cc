#include "targets/queue.h"

#include <algorithm>
#include <cstdio>

#include "simulator/formats.h"
#include "simulator/memory.h"
#include "simulator/registers.h"

namespace vtd::queue {
namespace {

using oracle::field;
using oracle::malformed;
using namespace oracle;  // the descriptor fields (DescField)

using sim::CacheKind;
using sim::Descriptor;
using sim::Iova;
using sim::kNoPasid;
using sim::PhysAddr;
using sim::Sid;

// ---------------------------------------------------------------- program

constexpr Sid kSids[] = {Sid(0, 2, 0), Sid(0, 2, 1), Sid(0, 3, 0), Sid(1, 0, 0)};
constexpr uint32_t kPasids[] = {0, 1, 2, 0xfffff};

// Wait descriptors write their status into the first data page.
PhysAddr status_page() {
  return sim::PhysMemory::Layout{}.data_base;
}

Iova iova_of(uint8_t b) {
  return uint64_t(b & 0xf) << 12 | uint64_t(b >> 4 & 3) << 21 | uint64_t(b >> 6) << 30;
}

enum class Op : uint8_t { Fill, Desc, Raw, Process, Recover, Hotplug };
struct Record {
  Op op;
  Line line;      // Fill
  Descriptor d;   // Desc, Raw
  uint8_t n = 0;  // Process: count; Hotplug: device
};
struct Program {
  bool dw = false, scalable = false, two_pages = false;
  bool removed[4] = {};
  std::vector<Record> records;
};

struct Reader {
  std::span<const uint8_t> in;
  size_t pos = 0;
  bool done() const { return pos >= in.size(); }
  uint8_t next() { return pos < in.size() ? in[pos++] : 0; }
};

// A cached line from two bytes: only the tag fields its cache has are set.
Line fill_line(uint8_t kind, uint8_t b1, uint8_t b2, bool scalable) {
  Line l;
  l.cache = CacheKind(kind % 5);
  const uint16_t sid = kSids[b1 & 3].v;
  const uint16_t did = uint16_t(1 + (b1 >> 2 & 3));
  const uint32_t pasid = kPasids[b1 >> 4 & 3];
  switch (l.cache) {
    case CacheKind::Context:
      l.sid = sid;
      l.did = scalable ? 0 : did;  // a scalable context entry has no DID
      break;
    case CacheKind::Pasid:
      l.sid = sid;
      l.pasid = pasid;
      l.present = (b1 >> 6) != 3;
      l.did = l.present ? did : 0;
      break;
    default: {  // IOTLB and paging-structure caches by DID; the device-TLB by SID
      const bool dev = l.cache == CacheKind::DevTlb;
      l.sid = dev ? sid : 0;
      l.did = dev ? 0 : did;
      l.level = uint8_t(1 + (b1 >> 6) % 3);
      l.pasid = (b2 & 0x80) ? kNoPasid : pasid;  // second-stage lines carry no PASID
      l.base = iova_of(b2) & ~(span_of(l) - 1);
      break;
    }
  }
  return l;
}

Descriptor structured(const uint8_t b[6]) {
  static constexpr uint8_t kTypeOf[] = {
      sim::kDescContext,    sim::kDescIotlb,      sim::kDescDevTlb,      sim::kDescWait,
      sim::kDescPasidIotlb, sim::kDescPasidCache, sim::kDescPasidDevTlb, 4 /* no such type */};
  const uint8_t type = kTypeOf[b[0] & 7];
  const uint64_t g = b[0] >> 3 & 3;
  const bool f5 = b[0] >> 5 & 1, f6 = b[0] >> 6 & 1, f7 = b[0] >> 7 & 1;
  const uint16_t did = uint16_t(1 + (b[1] & 3));
  const uint32_t pasid = kPasids[b[1] >> 2 & 3];
  const Sid sid = kSids[b[1] >> 4 & 3];
  const uint8_t fm = b[1] >> 6;
  const uint8_t am = b[2] >= 0xf0 ? 64 : b[2] % 10;
  const Iova addr = iova_of(b[3]);
  namespace desc = sim::desc;
  Descriptor d;
  switch (type) {
    case sim::kDescContext:
      d = desc::context_device(did, sid, fm);
      break;
    case sim::kDescIotlb:
      d = desc::iotlb_page(did, addr, am >= 52 ? 0 : am, f5);
      d.w[0] |= uint64_t(f6) << 6 | uint64_t(f7) << 7;  // DW, DR: hints only
      break;
    case sim::kDescDevTlb:
      d = desc::devtlb(sid, addr, am);
      break;
    case sim::kDescWait:
      d = desc::wait(status_page() + (b[3] & 0x3f) * 4, uint32_t(b[2]) + 1, f6);
      if (!f5) d.w[0] &= ~(1ull << 5);  // no SW
      d.w[0] |= uint64_t(f7) << 4;      // IF
      break;
    case sim::kDescPasidIotlb:
      d = desc::piotlb_page(did, pasid, addr, am >= 52 ? 0 : am, f5);
      break;
    case sim::kDescPasidCache:
      d = desc::pasid_cache_pasid(did, pasid);
      break;
    case sim::kDescPasidDevTlb:
      d = desc::pdevtlb(sid, pasid, addr, am);
      d.w[1] |= uint64_t(f6);  // G
      break;
    default:
      d.w[0] = type;
  }
  if (valid_granularities(type)) d.w[0] = (d.w[0] & ~(3ull << 4)) | g << 4;
  if (b[4] & 0x80) d.w[(b[4] >> 6) & 1] ^= 1ull << (b[4] & 0x3f);      // maybe a reserved bit
  if (b[5] & 0x80) d.w[2 + (b[5] >> 6 & 1)] |= 1ull << (b[5] & 0x3f);  // 256-bit: reserved
  return d;
}

Program decode(std::span<const uint8_t> input) {
  Reader r{input};
  Program p;
  const uint8_t h = r.next();
  p.dw = h & 1;
  p.scalable = h >> 1 & 1;
  p.two_pages = h >> 2 & 1;
  for (int i = 0; i < 4; ++i) p.removed[i] = h >> (3 + i) & 1;
  while (!r.done()) {
    const uint8_t o = r.next();
    Record rec{Op(o % 6), {}, {}, 0};
    switch (rec.op) {
      case Op::Fill: {
        const uint8_t b1 = r.next(), b2 = r.next();
        rec.line = fill_line(uint8_t(o / 6 % 5), b1, b2, p.scalable);
        break;
      }
      case Op::Desc: {
        uint8_t b[6];
        for (uint8_t& x : b) x = r.next();
        rec.d = structured(b);
        break;
      }
      case Op::Raw:
        for (int w = 0; w < (p.dw ? 4 : 2); ++w)
          for (int i = 0; i < 8; ++i) rec.d.w[w] |= uint64_t(r.next()) << (8 * i);
        break;
      case Op::Process:
        rec.n = uint8_t(1 + r.next() % 4);
        break;
      case Op::Recover:
        break;
      case Op::Hotplug:
        rec.n = r.next() % 4;
        break;
    }
    p.records.push_back(rec);
  }
  return p;
}

void fill(sim::Caches& c, const Line& l) {
  sim::Translation t;
  t.level = l.level;
  t.did = l.did;
  t.pasid_tag = l.pasid;
  t.pa = 0x80000;
  switch (l.cache) {
    case CacheKind::Context: {
      sim::Entry e(sim::EntryKind::ScalableContext);
      c.ctx_fill(Sid(l.sid), e.set(sim::Field::P, 1), l.did);
      break;
    }
    case CacheKind::Pasid: {
      sim::Entry e(sim::EntryKind::PasidEntry);
      e.set(sim::Field::P, l.present).set(sim::Field::DID, l.did);
      c.pasid_fill(Sid(l.sid), l.pasid, e);
      break;
    }
    case CacheKind::Iotlb:
      c.iotlb_fill(l.base, t, Sid(), l.pasid);
      break;
    case CacheKind::Psc:
      c.psc_fill(l.did, l.pasid, l.level, l.base, sim::PscLine{});
      break;
    case CacheKind::DevTlb:
      c.devtlb_fill(Sid(l.sid), l.pasid, l.base, t);
      break;
    default:
      break;
  }
}

std::string hex(const Descriptor& d, bool dw) {
  char buf[80];
  if (dw)
    snprintf(buf, sizeof buf, "%016llx %016llx %016llx %016llx", (unsigned long long)d.w[0],
             (unsigned long long)d.w[1], (unsigned long long)d.w[2], (unsigned long long)d.w[3]);
  else
    snprintf(buf, sizeof buf, "%016llx %016llx", (unsigned long long)d.w[0],
             (unsigned long long)d.w[1]);
  return buf;
}

// The machine one input runs on: memory, caches and the queue, and the
// software side that writes descriptors and recovers from errors.
class Rig {
 public:
  explicit Rig(const Program& p) : p_(p), cfg_(cfg(p)), mem_(true), q_(cfg_, mem_, caches_) {
    for (int i = 0; i < 4; ++i) present_[i] = !p.removed[i];
    q_.set_device_present([this](Sid s) {
      for (int i = 0; i < 4; ++i)
        if (kSids[i] == s) return present_[i];
      return false;
    });
    base_ = mem_.alloc(sim::PageType::Queue);
    uint64_t qs = 0;
    if (p.two_pages && mem_.alloc(sim::PageType::Queue) == base_ + sim::kPageSize) qs = 1;
    q_.write(sim::Reg::IQA, base_ | qs | (p.dw ? sim::iqa::DW : 0));
    esz_ = p.dw ? 32 : 16;
    size_ = sim::kPageSize << qs;
  }

  Result run() {
    for (const Record& rec : p_.records) {
      switch (rec.op) {
        case Op::Fill:
          fill(caches_, rec.line);
          break;
        case Op::Desc:
        case Op::Raw:
          submit(rec.d);
          break;
        case Op::Process:
          for (int i = 0; i < rec.n; ++i) step();
          break;
        case Op::Recover:
          recover();
          break;
        case Op::Hotplug:
          present_[rec.n] = !present_[rec.n];
          break;
      }
    }
    // Software waits for the queue to drain, recovering from errors.
    for (uint32_t budget = size_ / esz_ * 2; budget && head() != tail(); --budget) {
      if (stopped())
        recover();
      else
        step();
    }
    return std::move(r_);
  }

 private:
  static sim::Config cfg(const Program& p) {
    sim::Config c;
    c.scalable = p.scalable;
    return c;
  }
  uint64_t head() const { return q_.read(sim::Reg::IQH); }
  uint64_t tail() const { return q_.read(sim::Reg::IQT); }
  bool stopped() const { return q_.fsts() & (sim::fsts::IQE | sim::fsts::ITE | sim::fsts::ICE); }

  void store(uint64_t off, const Descriptor& d) {
    for (uint32_t i = 0; i < esz_ / 8; ++i) mem_.hw_store(base_ + off + 8 * i, d.w[i]);
  }
  Descriptor at_head() const {
    Descriptor d;
    for (uint32_t i = 0; i < esz_ / 8; ++i) d.w[i] = mem_.load(base_ + head() + 8 * i);
    return d;
  }

  void submit(const Descriptor& d) {
    const uint64_t next = (tail() + esz_) % size_;
    if (next == head()) return;  // full: software would wait; this input drops it
    store(tail(), d);
    q_.write(sim::Reg::IQT, next);
  }

  // Linux's qi_check_fault: an IQE descriptor is overwritten by a wait and
  // the queue restarted; after ITE/ICE the head has moved on already.
  void recover() {
    const uint64_t f = q_.fsts();
    if (f & sim::fsts::IQE) store(head(), sim::desc::wait(status_page() + 0x800, 0));
    q_.write(sim::Reg::FSTS, f & (sim::fsts::IQE | sim::fsts::ITE | sim::fsts::ICE));
  }

  void find(const char* rule, const Descriptor& d, const std::string& what) {
    Finding f;
    f.rule = rule;
    f.what = d.str() + " (" + hex(d, p_.dw) + "): " + what;
    f.step = r_.descriptors;
    f.type = d.type();
    f.g = d.granularity();
    r_.findings.push_back(f);
  }

  // One descriptor at the head, judged against the reference.
  void step() {
    if (head() == tail()) return;
    const Descriptor d = at_head();
    const std::vector<Line> before = lines_of(caches_);
    const uint64_t h0 = head(), f0 = q_.fsts();
    const uint32_t n = q_.process(1);
    const std::vector<Line> after = lines_of(caches_);
    const uint64_t h1 = head(), f1 = q_.fsts();
    ++r_.descriptors;
    if (f0 & (sim::fsts::IQE | sim::fsts::ITE | sim::fsts::ICE)) {
      if (n || h1 != h0 || after != before)
        find("stopped", d,
             "the queue ran while FSTS reported an error (it stops until software clears it)");
      return;
    }
    const uint8_t type = d.type();
    const bool devtlb = type == sim::kDescDevTlb || type == sim::kDescPasidDevTlb;
    const uint16_t sid = uint16_t(type == sim::kDescDevTlb ? field(d, CSID) : field(d, PSID));
    bool absent = true;  // a SID no device has never answers
    for (int i = 0; i < 4; ++i)
      if (kSids[i].v == sid) absent = !present_[i];
    if (const char* why = malformed(d, p_.dw)) {
      ++r_.iqe;
      if (!(f1 & sim::fsts::IQE) || n || h1 != h0 || after != before)
        find("error", d, std::string(why) + ": expected IQE with the head left on it");
      return;
    }
    if (f1 & sim::fsts::IQE) {
      find("error", d, "well-formed, but the queue raised IQE");
      return;
    }
    const uint64_t next = (h0 + esz_) % size_;
    if (devtlb && absent) {
      ++r_.ite;
      if (!(f1 & sim::fsts::ITE) || h1 != next || after != before)
        find("error", d, "device-TLB invalidation to a removed device: expected ITE, head past it");
      return;
    }
    if (h1 != next || (f1 & ~f0) || n != 1) {
      find("head", d,
           "a completed descriptor must advance the head by one entry and raise nothing");
      return;
    }
    r_.types.push_back(type);
    if (after.size() < before.size()) r_.removed += uint32_t(before.size() - after.size());
    for (Finding& f : check_scope(d, p_.scalable, before, after)) {
      f.step = r_.descriptors - 1;
      r_.findings.push_back(f);
    }
    // Status data lands in memory that exists (a write to no memory goes
    // nowhere); software points it at its own data page.
    const PhysAddr status = field(d, STATUS) << 2;
    if (type == sim::kDescWait && field(d, SW) && mem_.is_data(status)) {
      const uint64_t word = mem_.load(status & ~7ull);
      const uint32_t got = uint32_t(word >> ((status & 4) ? 32 : 0));
      if (got != uint32_t(field(d, DATA)))
        find("wait", d, "status word holds " + std::to_string(got) + ", not the descriptor's data");
    }
  }

  const Program& p_;
  const sim::Config cfg_;  // InvQueue keeps a reference to it
  sim::PhysMemory mem_;
  sim::Caches caches_;
  sim::InvQueue q_;
  bool present_[4] = {};
  PhysAddr base_ = 0;
  uint32_t esz_ = 16;
  uint64_t size_ = sim::kPageSize;
  Result r_;
};

}  // namespace

std::vector<Finding> check_scope(const Descriptor& d, bool scalable,
                                 const std::vector<Line>& before, const std::vector<Line>& after) {
  std::vector<Finding> out;
  auto add = [&](const Line& l, const char* what) {
    Finding f;
    f.rule = "scope";
    f.what = d.str() + ": " + what + " " + l.str();
    f.type = d.type();
    f.g = d.granularity();
    out.push_back(f);
  };
  for (const Line& l : before) {
    const bool kept = std::binary_search(after.begin(), after.end(), l);
    if (removes(d, scalable, l) && kept) add(l, "left a line in its scope:");
    if (!removes(d, scalable, l) && !kept) add(l, "removed a line outside its scope:");
  }
  for (const Line& l : after)
    if (!std::binary_search(before.begin(), before.end(), l)) add(l, "created a line:");
  return out;
}

Result run(std::span<const uint8_t> input) {
  const Program p = decode(input);
  return Rig(p).run();
}

std::string listing(std::span<const uint8_t> input) {
  const Program p = decode(input);
  std::string s = "queue";
  s += p.dw ? " dw256" : " dw128";
  s += p.scalable ? " scalable" : " legacy";
  s += p.two_pages ? " qs=1" : " qs=0";
  for (int i = 0; i < 4; ++i)
    if (p.removed[i]) s += " removed=" + kSids[i].str();
  s += "\n";
  for (const Record& r : p.records) {
    switch (r.op) {
      case Op::Fill:
        s += "fill " + r.line.str();
        break;
      case Op::Desc:
      case Op::Raw: {
        const char* why = malformed(r.d, p.dw);
        s += (r.op == Op::Desc ? "desc " : "raw ") + r.d.str() + " (" + hex(r.d, p.dw) + ")";
        if (why) s += std::string(" malformed: ") + why;
        break;
      }
      case Op::Process:
        s += "process " + std::to_string(r.n);
        break;
      case Op::Recover:
        s += "recover";
        break;
      case Op::Hotplug:
        s += "hotplug " + kSids[r.n].str();
        break;
    }
    s += "\n";
  }
  return s;
}

uint64_t signature(const Finding& f) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a over rule, type and G
  auto mix = [&](uint8_t b) { h = (h ^ b) * 0x100000001b3ull; };
  for (char c : f.rule) mix(uint8_t(c));
  mix(f.type);
  mix(f.g);
  return h;
}

}  // namespace vtd::queue
