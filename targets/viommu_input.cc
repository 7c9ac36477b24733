// The viommu target's input (targets/viommu.h): a compact form that
// decodes into a program of guest ops, so the engines spend their
// mutations on what the guest does, not on spelling it. Every byte string
// decodes; missing bytes read as zero.
//
//   header  byte 0: bits 0-1 assigned devices (0-2: one to three; 3: two),
//           bit 2 remapping starts off (else `g.dmar on` after the assigns),
//           bit 3 the guest's context entries start not present
//   records opcode % 10, then its bytes:
//     0 entry    dev pasid form did table flags: a guest PASID entry; form
//                % 8: 0-2 first-stage, 3-4 pass-through, 5 not present,
//                6 second-stage (nested with bit 3), 7 PGTT 0, 5, 6 or 7
//                (bits 3-4); FSPM 1 or 2 when bits 5-7 are 7 or 6; flags:
//                WPE (bit 2), SRE and EAFE too when bits 6-7 are set
//     1 pasid    g did pasid nowait: a PASID-cache invalidation (G 2 is
//                reserved: IQE)
//     2 context  g dev nowait: a context-cache invalidation (G 0 reserved)
//     3 iotlb    kind did pasid nowait: IOTLB or PASID-based IOTLB
//     4 wait     a wait descriptor alone
//     5 ctx      dev np: the device's context entry present or not
//     6 dmar     mode: remapping off, on or legacy
//     7 reset    the virtual unit is reset
//     8 fail     n: the n-th host allocation of the next record fails
//     9 clear    dev pasid: the entry zeroed
// Devices are the first free slots (00:02.0, 00:03.0, 00:04.0) on both
// sides; PASIDs 0-2; DIDs 1-4; FSPTPTRs one of eight pages.
#include <cstdio>

#include "prog/table.h"
#include "targets/viommu.h"

namespace vtd::viommu {

using prog::Arg;
using prog::Op;
using prog::OpKind;

namespace {

struct Reader {
  std::span<const uint8_t> b;
  size_t i = 0;
  uint8_t byte() { return i < b.size() ? b[i++] : 0; }
  bool done() const { return i >= b.size(); }
};

constexpr uint64_t kTablePages = 0x100000;  // FSPTPTR choices: 8 pages from here

Op op(OpKind k) {
  Op o;
  o.kind = k;
  for (const prog::detail::ArgSpec& a : prog::detail::spec(k).args)
    o.set(a.arg, a.style == prog::detail::Style::Pos ? 0 : a.def);
  return o;
}

Op inv(uint64_t type, uint64_t g, uint64_t did, uint64_t pasid, uint64_t dev, bool nowait) {
  Op o = op(OpKind::GInv);
  o.set(Arg::DescType, type).set(Arg::Gran, g).set(Arg::Did, did);
  o.set(Arg::Pasid, pasid + 1).set(Arg::Dev, dev).set(Arg::NoWait, nowait);
  return o;
}

}  // namespace

prog::Program decode(std::span<const uint8_t> bytes, const std::string& propagator) {
  Reader r{bytes};
  prog::Program p;
  p.viommu = propagator;
  const uint8_t h = r.byte();
  const size_t n = (h & 3) == 3 ? 2 : (h & 3) + 1;
  std::vector<uint64_t> devs;
  for (size_t i = 0; i < n; ++i) {
    Op a = op(OpKind::Assign);
    a.set(Arg::Host, prog::detail::kSlots[i]).set(Arg::Dev, prog::detail::kSlots[i]);
    devs.push_back(prog::detail::kSlots[i]);
    p.ops.push_back(a);
  }
  for (uint64_t d : devs)
    if (h & 8) p.ops.push_back(op(OpKind::GCtx).set(Arg::Dev, d).set(Arg::Np, 1));
  if (!(h & 4)) p.ops.push_back(op(OpKind::GDmar).set(Arg::Mode, 1));
  auto dev = [&] { return devs[r.byte() % n]; };
  while (!r.done()) {
    switch (r.byte() % 10) {
      case 0: {
        Op e = op(OpKind::GEntry);
        e.set(Arg::Dev, dev()).set(Arg::Pasid, r.byte() % 3 + 1);
        const uint8_t form = r.byte(), k = form % 8;
        static constexpr uint8_t kOther[] = {0, 5, 6, 7};
        const uint64_t pgtt = k < 3 || k == 5 ? sim::kPgttFirst
                              : k < 5         ? sim::kPgttPassThrough
                              : k == 6        ? ((form & 8) ? sim::kPgttNested : sim::kPgttSecond)
                                              : kOther[form >> 3 & 3];
        e.set(Arg::Pgtt, pgtt).set(Arg::Np, k == 5);
        e.set(Arg::Fspm, (form >> 5) == 7 ? 1 : (form >> 5) == 6 ? 2 : 0);
        e.set(Arg::Did, r.byte() % 4 + 1);
        const uint8_t table = r.byte(), flags = r.byte();
        if (pgtt != sim::kPgttPassThrough) e.set(Arg::Ptr, kTablePages + 0x1000ull * (table % 8));
        e.set(Arg::S1Flags, (flags & 0xc0) == 0xc0 ? flags & 7 : flags & drv::kS1Wpe);
        if (pgtt == sim::kPgttPassThrough) e.set(Arg::Fspm, 0).set(Arg::S1Flags, 0);
        p.ops.push_back(e);
        break;
      }
      case 1: {
        const uint8_t g = r.byte() % 4, did = r.byte() % 4 + 1, pasid = r.byte() % 3;
        p.ops.push_back(inv(4, g, did, pasid, 0, r.byte() & 1));
        break;
      }
      case 2: {
        const uint8_t g = r.byte() % 4;
        const uint64_t d = dev();
        p.ops.push_back(inv(0, g, 0, 0, g == 3 ? d : 0, r.byte() & 1));
        break;
      }
      case 3: {
        const uint8_t kind = r.byte(), did = r.byte() % 4 + 1, pasid = r.byte() % 3;
        const bool pasid_based = kind & 1;
        const uint8_t g = pasid_based ? 2 + (kind >> 1) % 2 : 1 + (kind >> 1) % 3;
        p.ops.push_back(inv(pasid_based ? 3 : 1, g, did, pasid_based ? pasid : 0, 0, r.byte() & 1));
        break;
      }
      case 4:
        p.ops.push_back(inv(6, 0, 0, 0, 0, false));
        break;
      case 5: {
        const uint64_t d = dev();
        p.ops.push_back(op(OpKind::GCtx).set(Arg::Dev, d).set(Arg::Np, r.byte() & 1));
        break;
      }
      case 6:
        p.ops.push_back(op(OpKind::GDmar).set(Arg::Mode, r.byte() % 3));
        break;
      case 7:
        p.ops.push_back(op(OpKind::GReset));
        break;
      case 8:
        p.ops.push_back(op(OpKind::FailNth).set(Arg::N, r.byte() % 4 + 1));
        break;
      default: {
        const uint64_t d = dev();
        p.ops.push_back(
            op(OpKind::GEntry).set(Arg::Dev, d).set(Arg::Pasid, r.byte() % 3 + 1).set(Arg::Np, 1));
        break;
      }
    }
  }
  return p;
}

std::string dictionary() {
  static const struct {
    const char* name;
    std::vector<uint8_t> bytes;
  } kTokens[] = {
      {"entry_first_stage", {0, 0, 0, 0, 0, 0, 0}},
      {"entry_first_stage_pasid1", {0, 0, 1, 0, 1, 1, 0}},
      {"entry_pass_through", {0, 0, 0, 3, 0, 0, 0}},
      {"entry_second_stage", {0, 0, 0, 6, 0, 0, 0}},
      {"entry_not_present", {0, 0, 0, 5, 0, 0, 0}},
      {"pasid_inv_pasid", {1, 1, 0, 0, 0}},
      {"pasid_inv_domain", {1, 0, 0, 0, 0}},
      {"pasid_inv_global", {1, 3, 0, 0, 0}},
      {"context_inv_device", {2, 3, 0, 0}},
      {"context_inv_global", {2, 1, 0, 0}},
      {"piotlb_inv", {3, 1, 0, 0, 0}},
      {"wait", {4}},
      {"ctx_not_present", {5, 0, 1}},
      {"ctx_present", {5, 0, 0}},
      {"dmar_off", {6, 0}},
      {"dmar_on", {6, 1}},
      {"dmar_legacy", {6, 2}},
      {"reset", {7}},
      {"fail_first_alloc", {8, 0}},
      {"clear", {9, 0, 0}},
  };
  std::string out =
      "# Generated by `vtdfuzz-cli dict --target viommu` (targets/viommu_input.cc).\n";
  for (const auto& t : kTokens) {
    out += std::string(t.name) + "=\"";
    char buf[8];
    for (uint8_t x : t.bytes) {
      snprintf(buf, sizeof buf, "\\x%02x", x);
      out += buf;
    }
    out += "\"\n";
  }
  return out;
}

}  // namespace vtd::viommu
