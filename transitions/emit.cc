#include "transitions/emit.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "oracle/oracle.h"
#include "targets/harness.h"

namespace vtd::transitions {
namespace {

using sim::EntryKind;

const char* const kDev = "00:02.0";
const char* const kIova = "0x80000";  // mapped alike in every domain (identity too)

// The iommu-core calls that make a row's transition. Domains: 1 is the
// old side's, 2 the new side's, 3/4 nested parents, 9 the helper the RID
// is attached to while a PASID moves.
struct Scenario {
  bool ok = false;
  std::string config;
  std::vector<std::string> setup;  // ops before the transition
  std::string op;                  // the transition
  std::string pasid;               // " pasid=1" for PASID rows
  // A second device translating through the old domain (same PASID): the
  // DID-aliasing witness (P5) needs someone else filling under the old DID.
  std::vector<std::string> sharer;
  bool entry_store(const std::string& trace_line) const;
  EntryKind kind = EntryKind::PasidEntry;
};

bool Scenario::entry_store(const std::string& l) const {
  const char* type = kind == EntryKind::PasidEntry ? "(pasid-table)" : "(context)";
  return l.rfind("store ", 0) == 0 && l.find(type) != std::string::npos;
}

bool uses_ss(End::Type t) {
  return t == End::Second || t == End::Nested;
}
bool uses_fs(End::Type t) {
  return t == End::First || t == End::Nested;
}

// Every domain maps kIova alike (what a hitless replace must keep
// translating, P3) and 0x1000 to a page of its side (0x80000 old, 0x81000
// new: a translation through the wrong table shows, P2). A second-stage
// domain may be a nested domain's parent: it maps both pages 1:1 too.
void add_maps(std::vector<std::string>& out, int dom, bool new_side, bool second_stage) {
  const std::string d = std::to_string(dom);
  out.push_back("map " + d + " iova=0x1000 pa=" + (new_side ? "0x81000" : "0x80000") + " rw");
  out.push_back("map " + d + " iova=0x80000 pa=0x80000 rw");
  if (second_stage) out.push_back("map " + d + " iova=0x81000 pa=0x81000 rw");
}

// Creates the domain for `e` as `id` (nested: on `parent`, created unless it
// exists already).
void add_domain(std::vector<std::string>& out, std::set<int>& made, int id, const End& e,
                int parent, bool new_side) {
  if (made.count(id)) return;
  made.insert(id);
  const std::string d = std::to_string(id);
  switch (e.type) {
    case End::Second:
    case End::Translate:
    case End::DevTlb:
      out.push_back("domain " + d + " second-stage");
      add_maps(out, id, new_side, true);
      break;
    case End::First:
      out.push_back("domain " + d + " first-stage");
      add_maps(out, id, new_side, false);
      break;
    case End::Nested:
      if (!made.count(parent)) {
        made.insert(parent);
        out.push_back("domain " + std::to_string(parent) + " second-stage");
        add_maps(out, parent, new_side, true);
      }
      out.push_back("domain " + d + " nested parent=" + std::to_string(parent));
      add_maps(out, id, new_side, false);
      break;
    default:
      out.push_back("domain " + d + " identity");
      break;
  }
}

std::string config_line(const Spec& s, bool scalable) {
  sim::Config c;
  c.scalable = scalable;
  c.coherent = s.coherent;
  c.quantum_bits = uint8_t(s.quantum_bits);
  c.cpu128 = s.cpu128;
  c.caching_mode = s.cm;
  return "config " + prog::config_text(c);
}

// Another device on the bus, attached first: the context table (and on a
// non-coherent IOMMU its 64 line write-backs) is not part of the transition.
void helper(std::vector<std::string>& out) {
  out.push_back("probe dev=00:03.0");
  out.push_back("domain 9 second-stage");
  out.push_back("attach dev=00:03.0 domain=9");
}

Scenario scenario(const Row& row) {
  Scenario sc;
  sc.kind = row.kind;
  const End &a = row.from, &b = row.to;
  const bool both = a.type != End::None && b.type != End::None;
  // The driver sets no flags (but DTE for a device with ATS) and uses the
  // default widths.
  const uint32_t settable = row.kind == EntryKind::ScalableContext ? kFlagDte : 0;
  if ((a.flags & ~settable) || (b.flags & ~settable) || a.aw || b.aw) return sc;
  if (both && a.did == b.did) return sc;  // two domains never share a DID here
  std::set<int> made;
  if (row.kind == EntryKind::ScalableContext) {
    sc.config = config_line(row.spec, true);
    helper(sc.setup);
    sc.setup.push_back(std::string("probe dev=") + kDev + " pasid" +
                       ((b.flags & kFlagDte) ? " ats" : ""));
    sc.setup.push_back("domain 1 second-stage");
    add_maps(sc.setup, 1, false, true);
    if (a.type == End::None && b.type == End::Present) {
      sc.op = std::string("attach dev=") + kDev + " domain=1";
    } else if (a.type == End::Present && b.type == End::None) {
      sc.setup.push_back(std::string("attach dev=") + kDev + " domain=1");
      sc.op = std::string("release dev=") + kDev;
    } else {
      return sc;
    }
    sc.ok = true;
    return sc;
  }
  if (row.kind == EntryKind::LegacyContext) {
    // TT follows the device's ATS capability, which a device keeps.
    const bool tr = a.type == End::Translate || b.type == End::Translate;
    const bool dt = a.type == End::DevTlb || b.type == End::DevTlb;
    if (tr && dt) return sc;
    if (a.type == End::CtxPassThrough && b.type == End::CtxPassThrough) return sc;
    if (both && a.type == b.type && !b.roots) return sc;  // another domain, another table
    sc.config = config_line(row.spec, false);
    helper(sc.setup);
    sc.setup.push_back(std::string("probe dev=") + kDev + (dt ? " ats" : ""));
    if (a.type != End::None) add_domain(sc.setup, made, 1, a, 0, false);
    if (b.type != End::None) add_domain(sc.setup, made, 2, b, 0, true);
    if (a.type != End::None) sc.setup.push_back(std::string("attach dev=") + kDev + " domain=1");
    if (a.type != End::None)
      sc.sharer = {"probe dev=00:04.0" + std::string(dt ? " ats" : ""),
                   "attach dev=00:04.0 domain=1", "dma dev=00:04.0 iova=0x1000 read"};
    sc.op = a.type == End::None   ? std::string("attach dev=") + kDev + " domain=2"
            : b.type == End::None ? std::string("detach dev=") + kDev
                                  : std::string("replace dev=") + kDev + " domain=2";
    sc.ok = true;
    return sc;
  }
  // PASID entry: PASID 1 of a device whose RID is attached elsewhere.
  if (a.type == End::PassThrough && b.type == End::PassThrough) return sc;
  if (both && uses_fs(a.type) && uses_fs(b.type) && !b.roots) return sc;
  int from = 1, to = 2, pa = 3, pb = 4;
  if (both && uses_ss(a.type) && uses_ss(b.type) && !b.roots) {
    // One second-stage table on both sides: the nested domain's parent.
    if (a.type == End::Second && b.type == End::Nested)
      pb = from;
    else if (a.type == End::Nested && b.type == End::Second)
      to = pa;
    else
      return sc;
  }
  sc.config = config_line(row.spec, true);
  sc.pasid = " pasid=1";
  sc.setup.push_back(std::string("probe dev=") + kDev + " pasid");
  sc.setup.push_back("domain 9 second-stage");
  sc.setup.push_back(std::string("attach dev=") + kDev + " domain=9");
  if (a.type != End::None) add_domain(sc.setup, made, from, a, pa, false);
  if (b.type != End::None) add_domain(sc.setup, made, to, b, pb, true);
  const std::string set = std::string("set-pasid dev=") + kDev + " pasid=1 domain=";
  if (a.type != End::None) {
    sc.setup.push_back(set + std::to_string(from));
    sc.sharer = {"probe dev=00:04.0 pasid",
                 "set-pasid dev=00:04.0 pasid=1 domain=" + std::to_string(from),
                 "dma dev=00:04.0 pasid=1 iova=0x1000 read"};
  }
  sc.op = b.type == End::None ? std::string("remove-pasid dev=") + kDev + " pasid=1"
                              : set + std::to_string(to);
  sc.ok = true;
  return sc;
}

// Oracle properties that reproduce a finding, and the entry kinds they may
// name (empty: any).
struct Want {
  oracle::Property p;
  std::vector<std::string> kinds;
};

std::vector<Want> wants(const Row& row, const Result& r) {
  const std::string kind = row.kind == EntryKind::PasidEntry      ? "pasid"
                           : row.kind == EntryKind::LegacyContext ? "context"
                                                                  : "sm-context";
  const std::string cache = row.kind == EntryKind::PasidEntry ? "pasid" : "context";
  std::vector<Want> out;
  for (const Finding& f : r.findings) {
    using oracle::Property;
    const bool prop = f.rule == Rule::Property;
    if (prop && f.property == Property::P1) out.push_back({Property::P1, {kind}});
    if (prop && f.property == Property::P3) out.push_back({Property::P3, {kind}});
    if (prop && f.property == Property::P4) out.push_back({Property::P4, {cache}});
    if ((prop && f.property == Property::P5) || f.rule == Rule::Final || f.rule == Rule::Tags) {
      out.push_back({oracle::Property::P5, {}});
      out.push_back({oracle::Property::P4, {}});
      out.push_back({oracle::Property::P2, {}});
    }
  }
  return out;
}

bool matches(const std::vector<Want>& ws, const harness::Result& hr) {
  if (!hr.violated) return false;
  const std::string& sig = hr.violation.sig_text;
  const std::string last = sig.substr(sig.rfind(' ') + 1);
  for (const Want& w : ws) {
    if (w.p != hr.violation.property) continue;
    if (w.kinds.empty() || std::find(w.kinds.begin(), w.kinds.end(), last) != w.kinds.end())
      return true;
  }
  return false;
}

// One candidate: extra ops before the transition, its schedule lines.
struct Candidate {
  bool warm = false;
  std::vector<std::string> sched;  // "@store 3: walk ..."
  std::vector<uint32_t> choices;
  int prewalk = 0;         // a walk parked after this many quanta before the transition
  int prewalk_order = -1;  // its chunk order (a @choices of the walk op)
  bool sharer = false;     // a second device on the old domain fills its IOTLB first
};

bool trailer(const Scenario& sc) {
  return !sc.op.starts_with("remove") && !sc.op.starts_with("detach") &&
         !sc.op.starts_with("release");
}

std::string program_text(const std::string& writer, const Scenario& sc, const Candidate& c) {
  std::string s = "writer " + writer + "\n" + sc.config + "\n";
  for (const std::string& l : sc.setup) s += l + "\n";
  if (c.warm) s += std::string("dma dev=") + kDev + sc.pasid + " iova=" + kIova + " read\n";
  if (c.sharer && !sc.sharer.empty())
    for (const std::string& l : sc.sharer) s += l + "\n";
  if (c.prewalk)
    s += std::string("walk dev=") + kDev + sc.pasid + " iova=" + kIova +
         " split=" + std::to_string(c.prewalk) + "\n" +
         (c.prewalk_order >= 0 ? "  @choices " + std::to_string(c.prewalk_order) + "\n" : "");
  s += sc.op + "\n";
  for (const std::string& l : c.sched) s += "  " + l + "\n";
  if (!c.choices.empty()) {
    s += "  @choices";
    for (uint32_t x : c.choices) s += " " + std::to_string(x);
    s += "\n";
  }
  // Afterwards the device translates another IOVA: fills under the new
  // entry's DID from its table (what a torn DID pairing collides with, P5).
  if (trailer(sc)) s += std::string("dma dev=") + kDev + sc.pasid + " iova=0x1000 read\n";
  return s;
}

// Small schedules around the transition, simplest first, the store points
// nearest the checker's witness first; stops at the first reproduction.
template <typename Attempt>
bool search(const Row& row, const Result& r, const Scenario& sc, uint32_t budget, Reproducer& rep,
            Attempt& attempt) {
  // Where the transition's store and wait points are, and which of them
  // are the entry's own stores.
  harness::Result traced;
  attempt(Candidate{}, true, &traced);
  uint32_t stores = 0, waits = 0;
  std::vector<uint32_t> entry_points;  // harness store index of the entry's i-th store
  const size_t back = trailer(sc) ? 2 : 1;
  if (traced.trace.size() >= back)
    for (const std::string& l : traced.trace[traced.trace.size() - back].lines()) {
      if (l.rfind("store ", 0) == 0) {
        ++stores;
        if (sc.entry_store(l)) entry_points.push_back(stores);
      }
      if (l.rfind("wait ", 0) == 0) ++waits;
    }
  stores = std::min(stores, 64u);
  waits = std::min(waits, 64u);
  std::vector<uint32_t> order;
  for (const Finding& f : r.findings)
    if (f.fetch_store > 0 && size_t(f.fetch_store) <= entry_points.size()) {
      uint32_t n = entry_points[size_t(f.fetch_store) - 1];
      for (uint32_t x : {n, n + 1, n - 1})
        if (x >= 1 && x <= stores && std::find(order.begin(), order.end(), x) == order.end())
          order.push_back(x);
    }
  for (uint32_t n = 1; n <= stores; ++n)
    if (std::find(order.begin(), order.end(), n) == order.end()) order.push_back(n);

  // Write-back points (non-coherent): where the checker's witness evicted.
  std::vector<uint32_t> evicts;
  for (const Finding& f : r.findings)
    if (f.evict_store > 0 && size_t(f.evict_store) <= entry_points.size())
      evicts.push_back(entry_points[size_t(f.evict_store) - 1]);
  const std::vector<std::vector<uint32_t>> delays = {{}, {1}, {2}, {0, 1}, {0, 2}, {1, 1}};
  const std::string walk = std::string("walk dev=") + kDev + sc.pasid + " iova=" + kIova;
  const std::string dma = std::string("dma dev=") + kDev + sc.pasid + " iova=" + kIova + " read";
  auto at = [](const char* kind, uint32_t n, const std::string& step) {
    return std::string("@") + kind + " " + std::to_string(n) + ": " + step;
  };
  auto split = [&](int k) { return k ? walk + " split=" + std::to_string(k) : walk; };
  const bool narrow = row.kind == EntryKind::PasidEntry && row.spec.quantum_bits == 64;
  const std::vector<uint32_t> chunk_orders =
      narrow ? std::vector<uint32_t>{1, 2, 6, 24, 120, 720, 5039}
             : std::vector<uint32_t>{1, 2, 3, 4, 5};
  // Rounds: a walk or DMA at one point; with one store delayed; with a
  // chunk order; a write-back first (non-coherent); an unmap on the second
  // CPU (cache tags); a walk at a wait point.
  std::vector<std::vector<Candidate>> rounds(6);
  for (uint32_t n : order) {
    rounds[0].push_back({false, {at("store", n, dma)}, {}});
    for (int k = 0; k <= 3; ++k) rounds[0].push_back({false, {at("store", n, split(k))}, {}});
    for (int k = 0; k <= 1; ++k)
      for (uint32_t i = 0; i < n + 2 && i < 15; ++i)
        for (uint32_t d = 1; d <= 7; ++d) {
          std::vector<uint32_t> ch(i, 0);
          ch.push_back(d);
          rounds[1].push_back({false, {at("store", n, split(k))}, ch});
          if (k == 0) rounds[1].push_back({false, {at("store", n, dma)}, ch});
        }
    for (int k = 1; k <= 3; ++k)
      for (uint32_t c : chunk_orders)
        for (uint32_t m = 0; m <= n && m < 15; ++m) {
          std::vector<uint32_t> ch(m, 0);
          ch.push_back(c);
          rounds[2].push_back({false, {at("store", n, split(k))}, ch});
        }
    if (!row.spec.coherent)
      for (uint32_t m : evicts.empty() ? std::vector<uint32_t>{n} : evicts)
        for (uint32_t w = m; w <= m + 1 && w <= stores; ++w)
          for (int idx = 0; idx < 4; ++idx)
            for (const std::vector<uint32_t>& ch : delays)
              rounds[3].push_back(
                  {false,
                   {at("store", m, "writeback" + (idx ? " index=" + std::to_string(idx) : "")),
                    at("store", w, split(0))},
                   ch});
    if (!sc.sharer.empty())
      for (const std::vector<uint32_t>& ch : delays) {
        Candidate c{false, {at("store", n, split(0))}, ch};
        c.sharer = true;
        rounds[4].push_back(c);
      }
    for (int dom : {1, 2})
      rounds[4].push_back({true,
                           {at("store", n, dma),
                            at("store", n, "cpu2 unmap " + std::to_string(dom) + " iova=" + kIova)},
                           {}});
  }
  for (uint32_t n = 1; n <= waits; ++n) {
    for (int k = 0; k <= 3; ++k) rounds[5].push_back({false, {at("wait", n, split(k))}, {}});
    for (int k = 1; k <= 3; ++k)
      for (uint32_t c : chunk_orders)
        for (uint32_t m = 0; m <= 2; ++m) {
          std::vector<uint32_t> ch(m, 0);
          ch.push_back(c);
          rounds[5].push_back({false, {at("wait", n, split(k))}, ch});
          // Once the flush group is processed: between it and the next store.
          rounds[5].push_back(
              {false, {at("wait", n, "process-queue"), at("wait", n, split(k))}, ch});
        }
  }
  // A walk parked before the transition, resumed by its first invalidation
  // or at a store point.
  for (int k = 7; k >= 1; --k) {
    Candidate c;
    c.prewalk = k;
    rounds[0].insert(rounds[0].begin(), c);
    for (uint32_t o : narrow ? std::vector<uint32_t>{720, 1440, 2160, 2880, 3600, 4320}
                             : std::vector<uint32_t>{1, 2, 3, 4, 5}) {
      c.prewalk_order = int(o);
      rounds[1].push_back(c);
    }
    c.prewalk_order = -1;
    for (uint32_t n : order) {
      c.sched = {at("store", n, "resume-walks")};
      rounds[2].push_back(c);
    }
  }
  harness::Result hr;
  for (const auto& round : rounds)
    for (const Candidate& c : round) {
      if (rep.runs >= budget) return false;
      if (attempt(c, false, &hr)) return true;
    }
  return false;
}

}  // namespace

std::string reproducer_name(const Row& row) {
  std::string s = row.kind_name() + "-" + label_of(row.kind, row.from) + "-to-" +
                  label_of(row.kind, row.to) + "-" + row.spec.variant();
  std::string out;
  for (char c : s) {
    if (c == ':' || c == '/') continue;
    out += (c == ' ' || c == '+') ? '-' : c;
  }
  return out + ".txt";
}

Reproducer reproduce(const std::string& writer, const Row& row, const Result& r, uint32_t budget) {
  Reproducer rep;
  const Scenario sc = scenario(row);
  const std::vector<Want> ws = wants(row, r);
  if (!sc.ok || ws.empty()) return rep;
  rep.reachable = true;

  harness::Options opt;
  opt.writer = writer;
  auto attempt = [&](const Candidate& c, bool trace, harness::Result* out) {
    prog::Program p;
    std::string err;
    if (!prog::parse(program_text(writer, sc, c), &p, &err)) return false;
    ++rep.runs;
    opt.trace = trace;
    *out = harness::run(p, opt);
    if (!matches(ws, *out)) return false;
    rep.found = true;
    rep.program = p;
    rep.verdict = harness::summary_line(*out);
    return true;
  };

  harness::Result hr;
  if (!attempt({}, false, &hr) && !attempt({true, {}, {}}, false, &hr) &&
      !search(row, r, sc, budget, rep, attempt))
    return rep;
  std::string head =
      "# transitions reproducer: " + row.name() + "\n# writer " + writer + "; the checker found:\n";
  for (const Finding& f : r.findings) {
    head += "#   " + f.label() + ": " + f.what + "\n";
    if (f.rule != Rule::Contract) head += "#     observed: " + f.observed.str() + "\n";
    if (!f.witness.empty()) {
      head += "#     schedule:";
      for (size_t k = 0; k < f.witness.size(); ++k) head += (k ? ", " : " ") + f.witness[k];
      head += "\n";
    }
  }
  head +=
      "# The same kind of transition through the iommu-core API (tables and DIDs are the\n"
      "# driver's own), with the schedule a search over store points, quanta and delays\n"
      "# found in " +
      std::to_string(rep.runs) + " runs:\n# " + rep.verdict + "\n";
  rep.program.writer = writer;
  rep.text = head + prog::to_text(rep.program);
  return rep;
}

}  // namespace vtd::transitions
