// The text form (DESIGN.md section 8): one op per line, schedule points
// indented under their op; parse(to_text(p)) == p.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "prog/table.h"

namespace vtd::prog {

using sim::hex;

using namespace detail;

namespace {

std::string arg_text(const ArgSpec& s, uint64_t v) {
  switch (s.arg) {
    case Arg::DType:
      return kDTypes[v];
    case Arg::Dev:
      return sim::Sid(uint16_t(v)).str();
    case Arg::Pasid:
      return std::to_string(v - 1);
    case Arg::Iova:
    case Arg::Dst:
    case Arg::Pa:
      return hex(v);
    case Arg::Size:
      return kSizes[v];
    case Arg::Perm:
      return kPerms[v];
    case Arg::Access:
      return kAccess[v];
    case Arg::Cache:
      return kCaches[v];
    case Arg::QErr:
      return kQErrs[v];
    case Arg::Host:
      return sim::Sid(uint16_t(v)).str();
    case Arg::Pgtt:
      return kPgtts[v];
    case Arg::Ptr:
      return hex(v);
    case Arg::DescType:
      return kDescTypes[v];
    case Arg::Mode:
      return kModes[v];
    case Arg::S1Flags: {
      std::string f;
      for (size_t i = 0; i < 3; ++i)
        if (v >> i & 1) f += (f.empty() ? "" : "+") + std::string(kS1Flags[i]);
      return f.empty() ? "0" : f;
    }
    default:
      return std::to_string(v);
  }
}

void append_args(std::string& s, const Op& op) {
  for (const ArgSpec& a : spec(op.kind).args) {
    uint64_t v = op.get(a.arg);
    if (a.style == Style::Flag) {
      if (v) s += std::string(" ") + a.key;
    } else if (a.style == Style::Key) {
      if (!a.always && v == a.def) continue;
      s += std::string(" ") + a.key + "=" + arg_text(a, v);
    } else {
      s += " " + arg_text(a, v);
    }
  }
}

template <size_t N>
bool lookup(const char* const (&names)[N], std::string_view w, uint64_t* v) {
  for (size_t i = 0; i < N; ++i)
    if (w == names[i]) {
      *v = i;
      return true;
    }
  return false;
}

bool parse_num(std::string_view w, uint64_t* v) {
  if (w.empty()) return false;
  std::string s(w);
  char* end = nullptr;
  errno = 0;
  unsigned long long x = strtoull(s.c_str(), &end, 0);
  if (errno || *end) return false;
  *v = x;
  return true;
}

bool parse_bdf(std::string_view w, uint64_t* v) {
  unsigned bus, dev, fn;
  char tail;
  if (sscanf(std::string(w).c_str(), "%x:%x.%x%c", &bus, &dev, &fn, &tail) != 3) return false;
  if (bus > 0xff || dev > 0x1f || fn > 7) return false;
  *v = sim::Sid(uint8_t(bus), uint8_t(dev), uint8_t(fn)).v;
  return true;
}

// Parses one argument value; `err` gets what was expected.
bool parse_value(Arg a, std::string_view w, uint64_t* v, std::string* err) {
  switch (a) {
    case Arg::DType:
      if (lookup(kDTypes, w, v)) return true;
      *err = "a domain type (second-stage, first-stage, nested, identity, blocking, sva)";
      return false;
    case Arg::Dev:
      if (parse_bdf(w, v)) return true;
      *err = "a device as bus:dev.fn";
      return false;
    case Arg::Size:
      if (lookup(kSizes, w, v)) return true;
      *err = "4K, 2M or 1G";
      return false;
    case Arg::Perm:
      if (lookup(kPerms, w, v) && *v) return true;
      *err = "r, w or rw";
      return false;
    case Arg::Access:
      if (lookup(kAccess, w, v)) return true;
      *err = "read or write";
      return false;
    case Arg::Cache:
      if (lookup(kCaches, w, v)) return true;
      *err = "context, pasid, iotlb, psc or devtlb";
      return false;
    case Arg::QErr:
      if (lookup(kQErrs, w, v)) return true;
      *err = "iqe, ite or ice";
      return false;
    case Arg::Host:
      if (parse_bdf(w, v)) return true;
      *err = "a device as bus:dev.fn";
      return false;
    case Arg::Pgtt:
      if (lookup(kPgtts, w, v)) return true;
      *err = "a PGTT: first, second, nested, pt or 0-7";
      return false;
    case Arg::DescType:
      if (lookup(kDescTypes, w, v)) return true;
      *err = "a descriptor type (context, iotlb, devtlb, piotlb, pasid-cache, pdevtlb, wait)";
      return false;
    case Arg::Mode:
      if (lookup(kModes, w, v)) return true;
      *err = "off, on or legacy";
      return false;
    case Arg::S1Flags: {
      *v = 0;
      if (w == "0") return true;
      for (std::string_view rest = w; !rest.empty();) {
        const size_t plus = rest.find('+');
        uint64_t bit;
        if (!lookup(kS1Flags, rest.substr(0, plus), &bit))
          return *err = "stage-1 flags: sre, eafe, wpe joined by '+'", false;
        *v |= 1ull << bit;
        rest = plus == std::string_view::npos ? std::string_view() : rest.substr(plus + 1);
      }
      return true;
    }
    default:
      break;
  }
  uint64_t x;
  if (!parse_num(w, &x)) {
    *err = "a number";
    return false;
  }
  switch (a) {
    case Arg::Dom:
      if (x < 1 || x > 255) return *err = "a domain id 1..255", false;
      break;
    case Arg::Parent:
      if (x > 255) return *err = "a domain id 1..255", false;
      break;
    case Arg::Levels:
      if (x < 3 || x > 5) return *err = "3, 4 or 5 levels", false;
      break;
    case Arg::Pasid:
      if (x >= (1u << 20)) return *err = "a PASID below 2^20", false;
      x += 1;
      break;
    case Arg::Iova:
    case Arg::Dst:
      if (x > kAddrMask) return *err = "an address below 2^62", false;
      break;
    case Arg::Pa:
      if (x < data_base() || x > kPaMask)
        return *err =
                   "a physical address from " + hex(data_base()) + " (the data region) below 2^52",
               false;
      break;
    case Arg::N:
    case Arg::Index:
      if (x > 255) return *err = "a count 0..255", false;
      break;
    case Arg::Split:
      if (x > 8) return *err = "a split 0..8", false;
      break;
    case Arg::Did:
      if (x > 0xffff) return *err = "a DID 0..65535", false;
      break;
    case Arg::Ptr:
      if ((x & 0xfff) || x > kPaMask) return *err = "a page address below 2^52", false;
      break;
    case Arg::Fspm:
    case Arg::Gran:
      if (x > 3) return *err = "a value 0..3", false;
      break;
    default:
      break;
  }
  *v = x;
  return true;
}

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> w;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) w.push_back(s.substr(i, j - i));
    i = j;
  }
  return w;
}

// Parses "<name> args..." into op; `allowed` filters the kinds.
bool parse_op(const std::vector<std::string_view>& w, size_t first, Op* op, std::string* err,
              bool (*allowed)(OpKind)) {
  if (first >= w.size()) return *err = "missing op", false;
  bool found = false;
  for (const OpSpec& s : specs())
    if (w[first] == s.name && s.kind != OpKind::Cpu2) {
      op->kind = s.kind;
      found = true;
    }
  if (w[first] == "cpu2") return *err = "cpu2 is only a schedule step", false;
  if (!found) return *err = "unknown op '" + std::string(w[first]) + "'", false;
  if (allowed && !allowed(op->kind))
    return *err = "'" + std::string(w[first]) + "' cannot be used here", false;
  const OpSpec& s = spec(op->kind);
  for (const ArgSpec& a : s.args) op->set(a.arg, a.style == Style::Pos ? 0 : a.def);
  if (op->kind == OpKind::Domain) op->set(Arg::Levels, 4);
  std::vector<bool> filled(s.args.size(), false);
  for (size_t i = first + 1; i < w.size(); ++i) {
    std::string_view t = w[i];
    size_t eq = t.find('=');
    size_t k = 0;
    bool matched = false;
    for (const ArgSpec& a : s.args) {
      bool hit = false;
      if (eq != std::string_view::npos)
        hit = a.style == Style::Key && t.substr(0, eq) == a.key;
      else if (a.style == Style::Flag)
        hit = t == a.key;
      if (hit) {
        if (a.style == Style::Flag) {
          op->set(a.arg, 1);
        } else {
          uint64_t v;
          std::string what;
          if (!parse_value(a.arg, t.substr(eq + 1), &v, &what))
            return *err = "'" + std::string(t) + "': expected " + what, false;
          op->set(a.arg, v);
        }
        filled[k] = true;
        matched = true;
        break;
      }
      ++k;
    }
    if (!matched && eq == std::string_view::npos) {
      k = 0;
      for (const ArgSpec& a : s.args) {
        if (a.style == Style::Pos && !filled[k]) {
          uint64_t v;
          std::string what;
          if (!parse_value(a.arg, t, &v, &what))
            return *err = "'" + std::string(t) + "': expected " + what, false;
          op->set(a.arg, v);
          filled[k] = matched = true;
          break;
        }
        ++k;
      }
    }
    if (!matched) return *err = "'" + std::string(t) + "' is not an argument of " + s.name, false;
  }
  size_t k = 0;
  for (const ArgSpec& a : s.args) {
    if (!filled[k] && (a.style == Style::Pos || a.always) && a.arg != Arg::Perm)
      return *err =
                 std::string(s.name) + ": missing " + (a.style == Style::Key ? a.key : "argument"),
             false;
    ++k;
  }
  return true;
}

bool is_step_or_cpu2(OpKind k) {
  return is_hw_step(k);
}

}  // namespace

std::string config_text(const sim::Config& c) {
  std::string s = c.scalable ? "scalable" : "legacy";
  s += c.coherent ? " coherent" : " noncoherent";
  s += c.quantum_bits == 64 ? " quantum=64" : " quantum=128";
  s += c.cpu128 ? " cpu128" : " cpu64";
  if (c.caching_mode) s += " cm";
  if (!c.five_level) s += " 4level";
  return s;
}

std::string op_text(const Op& op) {
  if (op.kind == OpKind::Cpu2)
    return "cpu2 " + (op.sub.empty() ? std::string("?") : op_text(op.sub.front()));
  std::string s = op_name(op.kind);
  append_args(s, op);
  return s;
}

std::string to_text(const Program& p) {
  std::string s = "writer " + (p.writer.empty() ? std::string("-") : p.writer) + "\n";
  if (!p.lu.empty()) s += "lu " + p.lu + "\n";
  if (!p.viommu.empty()) s += "viommu " + p.viommu + "\n";
  s += "config " + config_text(p.config) + "\n";
  for (const Op& op : p.ops) {
    s += op_text(op) + "\n";
    for (const SchedPoint& sp : op.sched)
      s += std::string("  @") + (sp.kind == sim::PointKind::Wait ? "wait " : "store ") +
           std::to_string(sp.index) + ": " + op_text(sp.step.front()) + "\n";
    if (!op.choices.empty()) {
      s += "  @choices";
      for (uint32_t c : op.choices) s += " " + std::to_string(c);
      s += "\n";
    }
  }
  return s;
}

bool parse(std::string_view text, Program* out, std::string* error) {
  Program p;
  int line_no = 0;
  bool have_writer = false, have_config = false;
  size_t pos = 0;
  auto fail = [&](const std::string& m) {
    *error = "line " + std::to_string(line_no) + ": " + m;
    return false;
  };
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    std::vector<std::string_view> w = split_words(line);
    if (w.empty()) {
      if (nl == text.size()) break;
      continue;
    }
    bool indented = line[0] == ' ' || line[0] == '\t';
    // The header's names: the writer, the live-update flow and the vIOMMU
    // propagator (each once, before the ops).
    if (w[0] == "writer" || w[0] == "lu" || w[0] == "viommu") {
      const std::string what(w[0]);
      std::string* field = what == "writer" ? &p.writer : what == "lu" ? &p.lu : &p.viommu;
      if (w.size() != 2) return fail(what + " takes one name");
      if (!p.ops.empty() || (what == "writer" ? have_writer : !field->empty()))
        return fail(what + " must come before the ops, once");
      std::string name(w[1] == "-" ? "" : w[1]);
      for (char c : name)
        if (!writer_char(c))
          return fail(what + " name '" + name + "' has characters outside [a-z0-9-]");
      if (name.size() > 32) return fail(what + " name longer than 32");
      *field = name;
      have_writer |= what == "writer";
      continue;
    }
    if (w[0] == "config") {
      if (have_config || !p.ops.empty()) return fail("config must come before the ops, once");
      sim::Config c;
      for (size_t i = 1; i < w.size(); ++i) {
        std::string_view t = w[i];
        if (t == "scalable")
          c.scalable = true;
        else if (t == "legacy")
          c.scalable = false;
        else if (t == "coherent")
          c.coherent = true;
        else if (t == "noncoherent")
          c.coherent = false;
        else if (t == "quantum=128")
          c.quantum_bits = 128;
        else if (t == "quantum=64")
          c.quantum_bits = 64;
        else if (t == "cpu128")
          c.cpu128 = true;
        else if (t == "cpu64")
          c.cpu128 = false;
        else if (t == "cm")
          c.caching_mode = true;
        else if (t == "4level")
          c.five_level = false;
        else
          return fail("unknown config word '" + std::string(t) + "'");
      }
      p.config = c;
      have_config = true;
      continue;
    }
    if (w[0].size() > 1 && w[0][0] == '@') {
      if (!indented) return fail("schedule lines are indented under their op");
      if (p.ops.empty()) return fail("schedule line before any op");
      Op& op = p.ops.back();
      if (w[0] == "@choices") {
        for (size_t i = 1; i < w.size(); ++i) {
          uint64_t v;
          if (!parse_num(w[i], &v) || v > 0xffffffffu)
            return fail("'" + std::string(w[i]) + "': expected a choice");
          op.choices.push_back(uint32_t(v));
        }
        if (op.choices.size() > kMaxChoices)
          return fail("at most " + std::to_string(kMaxChoices) + " choices per op");
        continue;
      }
      SchedPoint sp;
      if (w[0] == "@store")
        sp.kind = sim::PointKind::Store;
      else if (w[0] == "@wait")
        sp.kind = sim::PointKind::Wait;
      else
        return fail("unknown schedule line '" + std::string(w[0]) + "'");
      if (w.size() < 3 || w[1].empty() || w[1].back() != ':')
        return fail("expected '@store N: <step>'");
      uint64_t idx;
      if (!parse_num(w[1].substr(0, w[1].size() - 1), &idx) || idx < 1 || idx > kMaxPointIndex)
        return fail("schedule point index must be 1.." + std::to_string(kMaxPointIndex));
      sp.index = uint32_t(idx);
      Op step;
      std::string err;
      if (w[2] == "cpu2") {
        Op sub;
        if (!parse_op(w, 3, &sub, &err, is_cpu2_op)) return fail(err);
        step.kind = OpKind::Cpu2;
        step.sub.push_back(sub);
      } else if (!parse_op(w, 2, &step, &err, is_step_or_cpu2)) {
        return fail(err);
      }
      sp.step.push_back(step);
      if (op.sched.size() >= kMaxSched)
        return fail("at most " + std::to_string(kMaxSched) + " schedule points per op");
      op.sched.push_back(sp);
      continue;
    }
    if (indented) return fail("unexpected indentation");
    Op op;
    std::string err;
    if (!parse_op(w, 0, &op, &err, nullptr)) return fail(err);
    if ((op.kind == OpKind::Domain || op.kind == OpKind::GDomain) && op.get(Arg::DType) != 2 &&
        op.get(Arg::Parent))
      return fail("parent= is only for nested domains");
    // Guest ops run through a virtual unit and its propagator (binary.cc
    // has them as records only then).
    if (is_guest(op.kind) && p.viommu.empty())
      return fail(std::string(op_name(op.kind)) + " needs a 'viommu NAME' line before the ops");
    p.ops.push_back(op);
    if (nl == text.size()) break;
  }
  *out = p;
  return true;
}

bool load(std::span<const uint8_t> bytes, Program* out, std::string* error) {
  std::string_view s(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  // Text programs start with a comment, `writer` or `config`.
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  std::string_view head = s.substr(i);
  bool text =
      head.substr(0, 7) == "writer " || head.substr(0, 7) == "config " || head.substr(0, 1) == "#";
  // A fuzzer's input may start with those bytes too (the dictionary holds
  // "writer "): a control byte other than white space makes it binary, read
  // as the fuzz targets read it, so that a finding replays as it ran.
  text = text && std::none_of(s.begin(), s.end(), [](char c) {
           const auto u = static_cast<unsigned char>(c);
           return (u < 0x20 && c != '\n' && c != '\r' && c != '\t') || u == 0x7f;
         });
  if (text) return parse(s, out, error);
  *out = decode(bytes);
  return true;
}

}  // namespace vtd::prog
