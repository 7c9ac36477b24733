// The engines' dictionary for the binary form, generated from the op table.
#include <cctype>
#include <cstdio>
#include <utility>

#include "prog/table.h"

namespace vtd::prog {

using namespace detail;

namespace {

// The ops of the default machine (setup byte 0), and of the live-update
// setup on it (header flag kLiveUpdateSetup).
#define VTDFUZZ_DEFAULT_MACHINE                                                \
  "writer -\nconfig scalable\nprobe dev=00:02.0\nprobe dev=00:03.0\n"          \
  "domain 1 first-stage\nmap 1 iova=0x0 pa=0x80000 rw\ndomain 2 first-stage\n" \
  "map 2 iova=0x0 pa=0x81000 rw\nattach dev=00:02.0 domain=1\nattach dev=00:03.0 domain=1\n"
constexpr const char* kDefaultMachine = VTDFUZZ_DEFAULT_MACHINE;
constexpr const char* kLuSetup =
    VTDFUZZ_DEFAULT_MACHINE "preserve-domain 1\npreserve dev=00:02.0\n";
#undef VTDFUZZ_DEFAULT_MACHINE

// Idioms on the default machine. A map into a 2 MiB region no table covers
// yet, walked at its first store (the one that links the new last-level
// table into the live tree) with a store delay: whether the table's
// contents are visible before the link is the writer's ordering (B11:
// published before its contents, P6). IOVAs that far apart are two-byte
// varints, which byte mutations from zero arguments never reach. An ATS
// device that cached a translation, unmapped while the queue runs one
// descriptor at a time and the device asks again at the wait: the order of
// an unmap's invalidations is what answers it (seeds/001, Lu Baolu, line
// 257: "PASID cache, IOTLB, and Device-TLB flush"; B13, P4). A DID's
// life, in two halves the engine joins: a second-stage domain whose only
// device DMAs and leaves (the DID is released after the hardware cached
// under it), and a new domain attached with its device DMAing at the
// entry's first store, at an IOVA whose walk shares no table with IOVA 0
// (B12: a DID reused without a flush, P5; B6). Each is clean on every
// correct writer.
constexpr std::pair<const char*, const char*> kIdioms[] = {
    {"map_new_table_walked",
     "map 1 iova=0x200000 pa=0x82000 rw\n"
     "  @store 1: walk dev=00:02.0 iova=0x200000\n"
     "  @choices 1\n"},
    {"ats_unmap_asked_again",
     "probe dev=00:04.0 ats\nattach dev=00:04.0 domain=1\ndma dev=00:04.0 iova=0x0 read\n"
     "unmap 1 iova=0x0\n"
     "  @wait 1: process-queue n=1\n"
     "  @wait 1: dma dev=00:04.0 iova=0x0 read\n"},
    {"did_released_after_use",
     "detach dev=00:02.0\ndetach dev=00:03.0\ndomain 3 second-stage\n"
     "map 3 iova=0x0 pa=0x82000 rw\nattach dev=00:02.0 domain=3\ndma dev=00:02.0 iova=0x0 read\n"
     "detach dev=00:02.0\n"},
    {"far_domain_attached_dma",
     "domain 4 second-stage\nmap 4 iova=0x8000000000 pa=0x83000 rw\n"
     "attach dev=00:03.0 domain=4\n"
     "  @store 1: dma dev=00:03.0 iova=0x8000000000 read\n"},
};

constexpr std::pair<const char*, const char*> kLuIdioms[] = {
    {"lu_kexec_restore_probe", "kexec\nrestore\nprobe dev=00:02.0\n"},
    {"lu_restore_probe", "restore\nprobe dev=00:02.0\n"},
    {"lu_late_upper",
     "probe dev=00:10.0\nattach dev=00:10.0 domain=1\npreserve dev=00:10.0\nkexec\n"},
    {"lu_late_vf", "vfs dev=00:02.0\nattach dev=01:00.0 domain=1\npreserve dev=01:00.0\nkexec\n"},
    {"lu_map_preserved", "map 1 iova=0x200000 pa=0x82000 rw\nkexec\n"},
    {"lu_unpreserve_domain", "unpreserve-domain 1\nkexec\n"},
    {"lu_preserve_unpreserve", "preserve dev=00:03.0\nunpreserve dev=00:03.0\nkexec\n"},
    {"lu_restore_attach_other",
     "kexec\nrestore\nprobe dev=00:03.0\ndomain 3 first-stage\nattach dev=00:03.0 domain=3\n"},
    {"lu_handover_finish", "kexec\nrestore\nprobe dev=00:02.0\nfinish\n"},
    {"lu_kexec_cpu2_replace", "kexec\n  @wait 1: cpu2 replace dev=00:03.0 domain=2\n"},
};

// An idiom's records: the program's encoding past the setup's.
std::vector<uint8_t> idiom(const char* setup_text, const char* ops) {
  Program setup, all;
  std::string err;
  parse(setup_text, &setup, &err);
  parse(std::string(setup_text) + ops, &all, &err);
  const std::vector<uint8_t> head = encode(setup), b = encode(all);
  return std::vector<uint8_t>(b.begin() + long(head.size()), b.end());
}

}  // namespace

std::vector<Token> tokens() {
  std::vector<Token> out;
  // Names of letters, digits and '_' only: AFL++ drops a dictionary entry
  // whose name has anything else (op names have '-'; libFuzzer ignores names).
  auto add = [&](std::string name, std::vector<uint8_t> bytes, bool header = false) {
    for (char& c : name)
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    out.push_back({std::move(name), std::move(bytes), header});
  };
  // Each op with all-zero arguments: a reference 0 names the most recently
  // created domain or device, a creator 0 makes a fresh one, so inserted
  // tokens join up with what the program already has.
  for (const OpSpec& s : specs()) {
    // Guest ops are records only in programs that name a propagator.
    if (s.kind == OpKind::Cpu2 || s.cls == OpClass::Guest) continue;
    std::vector<uint8_t> zeros(1 + s.args.size(), 0);
    zeros[0] = record_of(s.kind);
    add(std::string("op_") + s.name, zeros);
  }
  // A schedule point right after the first store: a split walk, a DMA, or
  // the second CPU mapping or unmapping; references 0 name the most recent
  // device and domain.
  auto zero_args = [](OpKind k) {
    Op o;
    o.kind = k;
    for (const ArgSpec& a : spec(k).args) o.set(a.arg, wrap(a.arg, 0));
    return o;
  };
  Refs refs;
  refs.doms = {1};
  refs.devs = {wrap(Arg::Dev, 0)};
  auto point = [&](OpKind step, OpKind sub = OpKind::kCount, uint32_t store = 1) {
    Op st = zero_args(step);
    st.set(Arg::Split, step == OpKind::Walk ? 1 : 0);
    if (step == OpKind::Cpu2) st.sub.push_back(zero_args(sub));
    std::vector<uint8_t> b;
    write_point(b, {sim::PointKind::Store, store, {st}}, refs);
    return b;
  };
  for (OpKind step : {OpKind::Walk, OpKind::Dma, OpKind::ResumeWalks})
    add(std::string("sched_") + op_name(step), point(step));
  for (OpKind sub : {OpKind::Map, OpKind::Unmap})
    add(std::string("sched_cpu2-") + op_name(sub), point(OpKind::Cpu2, sub));
  // The IOTLB race idiom, as one token: at the same store the device DMAs
  // (the hardware caches a translation) and then the second CPU unmaps it,
  // whose flush must reach the entry just cached. One token per store up to
  // the fourth: a replace that is not hitless makes the entry live again
  // only at its third store (clear P, write, set P: the entry-sync fallback
  // of DESIGN.md section 5), and a byte mutation rarely lands on both
  // points' indices at once.
  for (uint32_t store = 1; store <= 4; ++store) {
    std::vector<uint8_t> race = point(OpKind::Dma, OpKind::kCount, store);
    for (uint8_t x : point(OpKind::Cpu2, OpKind::Unmap, store)) race.push_back(x);
    add("sched_dma_then_cpu2-unmap" + (store > 1 ? "_at" + std::to_string(store) : ""), race);
  }
  // A walk at a later store: a map's last store publishes the tables its
  // earlier stores filled (B11: published before its contents, P6).
  for (uint32_t store = 2; store <= 4; ++store)
    add("sched_walk_at" + std::to_string(store), point(OpKind::Walk, OpKind::kCount, store));
  for (const auto& [name, text] : kIdioms) add(name, idiom(kDefaultMachine, text));
  // A schedule choice (a store delay, a chunk order) for the op before it;
  // 3 holds a store back past the next two (B11's reordering).
  for (uint8_t c : {1, 3}) add("choice_" + std::to_string(c), {kChoiceRecord, c});
  // Live update (DESIGN.md section 12): idioms, written as program text and
  // encoded after the machine the live-update setup builds (prog/binary.cc:
  // 00:02.0 preserved on domain 1, 00:03.0 sharing it, domain 2), so their
  // references name those. The whole handover (a fresh probe after kexec
  // names the old kernel's first device: prog/table.h Refs); a device or a
  // VF preserved after the first, on a context table of its own; a map on
  // the preserved domain; an unpreserve; the new kernel attaching another
  // device before the preserved one is probed; finish after the probe; a
  // second CPU replacing a device while the shutdown waits for its flush.
  for (const auto& [name, text] : kLuIdioms) add(name, idiom(kLuSetup, text));
  for (OpKind sub : {OpKind::Attach, OpKind::Probe}) {
    add(std::string("sched_cpu2-") + op_name(sub), point(OpKind::Cpu2, sub));
    std::vector<uint8_t> b;
    Op st = zero_args(OpKind::Cpu2);
    st.sub.push_back(zero_args(sub));
    write_point(b, {sim::PointKind::Wait, 1, {st}}, refs);
    add(std::string("sched_wait_cpu2-") + op_name(sub), b);
  }
  for (int flags : {1, 2, 8, 16, int(kLiveUpdateSetup)}) {
    add("header_" + std::to_string(flags), {kVersion, uint8_t(flags), 0, 0, 0, 0}, true);
  }
  // Setups (the byte is setup ^ kDefaultSetup): two devices sharing a
  // second-stage domain with a second one to move to (0x5a); two devices on
  // first-stage domains of their own (0x8a); two devices' PASID 1 sharing a
  // first-stage domain (0xca); one device on a second-stage domain with a
  // second to move to (0x99); an empty machine (0x00).
  for (int setup : {0x5a, 0x8a, 0xca, 0x99, 0x00}) {
    char name[16];
    snprintf(name, sizeof name, "setup_%02x", setup);
    add(name, {kVersion, 0, uint8_t(setup ^ kDefaultSetup), 0, 0, 0}, true);
  }
  return out;
}

std::string dictionary() {
  std::string out = "# Generated by `vtdfuzz-cli dict` from the op table in prog/ops.cc.\n";
  for (const Token& t : tokens()) {
    out += t.name + "=\"";
    char buf[8];
    for (uint8_t x : t.bytes) {
      snprintf(buf, sizeof buf, "\\x%02x", x);
      out += buf;
    }
    out += "\"\n";
  }
  return out;
}

}  // namespace vtd::prog
