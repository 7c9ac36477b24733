// Invalidation queue (spec 6.5.2; VTD-REFERENCE.md descriptor table):
// descriptors written with CPU stores, IQT moved, process_queue() run.
// Malformed descriptors raise IQE and stop the head on them; a device-TLB
// invalidation to a removed device raises ITE; the wait descriptor writes
// its status; every valid descriptor removes what it names and nothing else.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <string>
#include <tuple>
#include <vector>

#include "tests/simulator/sim_test_util.h"

namespace vtd::sim {
namespace {

using namespace testutil;

constexpr uint64_t bits(unsigned lo, unsigned hi) {
  return (hi >= 63 ? ~0ull : ((1ull << (hi + 1)) - 1)) & ~((1ull << lo) - 1);
}

const Sid kSidA(0, 1, 0);
const Sid kSidB(0, 2, 0);
const PhysAddr kStatus = data_page(0) + 0x100;

// ------------------------------------------------------- descriptor table
// The fields each descriptor type defines (VTD-REFERENCE.md); every other
// bit is reserved. Type bits are lo[3:0] and lo[11:9].
constexpr uint64_t kTypeBits = bits(0, 3) | bits(9, 11);

struct DescSpec {
  uint8_t type;
  const char* name;
  Descriptor valid;  // a well-formed descriptor of this type
  uint64_t lo, hi;   // defined fields
};

std::vector<DescSpec> desc_specs() {
  return {
      // G 5:4, DID 31:16, SID 47:32, FM 49:48
      {kDescContext, "Context", desc::context_device(5, kSidA),
       kTypeBits | bits(4, 5) | bits(16, 31) | bits(32, 47) | bits(48, 49), 0},
      // G 5:4, DW 6, DR 7, DID 31:16; hi AM 5:0, IH 6, ADDR 63:12
      {kDescIotlb, "Iotlb", desc::iotlb_page(5, 0x1000, 0),
       kTypeBits | bits(4, 5) | bits(6, 6) | bits(7, 7) | bits(16, 31),
       bits(0, 5) | bits(6, 6) | bits(12, 63)},
      // SID 47:32; hi S 0, ADDR 63:12
      {kDescDevTlb, "DevTlb", desc::devtlb(kSidA, 0x1000, 0), kTypeBits | bits(32, 47),
       bits(0, 0) | bits(12, 63)},
      // IF 4, SW 5, FN 6, status data 63:32; hi status address 63:2
      {kDescWait, "Wait", desc::wait(kStatus, 1), kTypeBits | bits(4, 6) | bits(32, 63),
       bits(2, 63)},
      // G 5:4, DID 31:16, PASID 51:32; hi AM 5:0, IH 6, ADDR 63:12
      {kDescPasidIotlb, "PasidIotlb", desc::piotlb_page(5, 1, 0x1000, 0),
       kTypeBits | bits(4, 5) | bits(16, 31) | bits(32, 51),
       bits(0, 5) | bits(6, 6) | bits(12, 63)},
      // G 5:4, DID 31:16, PASID 51:32
      {kDescPasidCache, "PasidCache", desc::pasid_cache_pasid(5, 1),
       kTypeBits | bits(4, 5) | bits(16, 31) | bits(32, 51), 0},
      // SID 31:16, PASID 51:32; hi G 0, S 11, ADDR 63:12
      {kDescPasidDevTlb, "PasidDevTlb", desc::pdevtlb(kSidA, 1, 0x1000, 0),
       kTypeBits | bits(16, 31) | bits(32, 51), bits(0, 0) | bits(11, 11) | bits(12, 63)},
  };
}

// ------------------------------------------------------------ fixture

struct QueueEnv {
  explicit QueueEnv(const Config& cfg = Config{}, bool dw256 = false) : env(cfg), q(*env.m, dw256) {
    env.iommu().device_plug(kSidA, true);
    env.iommu().device_plug(kSidB, true);
    env.cpu().write64(kStatus, 0);
  }
  uint64_t status() { return env.m->mem.load(kStatus); }
  Env env;
  QueueDriver q;
};

// --------------------------------------------------------- reserved bits

struct ReservedCase {
  DescSpec spec;
  int word;  // 0: lo, 1: hi
};

void PrintTo(const ReservedCase& c, std::ostream* os) {
  *os << c.spec.name << " w" << c.word;
}

class ReservedBit : public ::testing::TestWithParam<ReservedCase> {};

// For every bit of the word: a reserved bit set on a valid descriptor raises
// IQE and leaves the head on the descriptor (the wait behind it never
// runs); a defined bit is never reported as reserved.
TEST_P(ReservedBit, Iqe_ReservedBitRaisesIqeAndHeadStays) {
  const ReservedCase& c = GetParam();
  QueueEnv qe;
  ASSERT_EQ(check_descriptor(c.spec.valid, false), DescError::None) << c.spec.valid.str();
  ASSERT_EQ(c.spec.valid.type(), c.spec.type);
  const uint64_t defined = c.word == 0 ? c.spec.lo : c.spec.hi;
  int reserved = 0;
  for (unsigned b = 0; b < 64; ++b) {
    SCOPED_TRACE("bit " + std::to_string(b));
    // Type bits select another descriptor (Iqe_UnknownTypeRaisesIqe).
    if (c.word == 0 && (kTypeBits >> b & 1)) continue;
    Descriptor d = c.spec.valid;
    d.w[c.word] ^= 1ull << b;
    if (defined >> b & 1) {
      EXPECT_NE(check_descriptor(d, false), DescError::Reserved);
      continue;
    }
    ++reserved;
    d.w[c.word] |= 1ull << b;
    EXPECT_EQ(check_descriptor(d, false), DescError::Reserved);
    qe.q.reset();
    qe.env.cpu().write64(kStatus, 0);
    uint32_t n = qe.q.submit({d, desc::wait(kStatus, 0x77)});
    EXPECT_EQ(n, 0u);
    EXPECT_TRUE(qe.q.fsts() & fsts::IQE);
    EXPECT_EQ(qe.q.head(), 0u);
    EXPECT_EQ(qe.status(), 0u);
    // Nothing behind the bad descriptor runs, however often the hardware
    // is asked to make progress.
    EXPECT_EQ(qe.env.iommu().process_queue(), 0u);
    EXPECT_EQ(qe.q.head(), 0u);
  }
  EXPECT_EQ(reserved, std::popcount(~defined));
}

std::vector<ReservedCase> reserved_cases() {
  std::vector<ReservedCase> v;
  for (const DescSpec& s : desc_specs())
    for (int w : {0, 1}) v.push_back({s, w});
  return v;
}

std::string reserved_name(const ::testing::TestParamInfo<ReservedCase>& i) {
  return std::string(i.param.spec.name) + (i.param.word ? "_Hi" : "_Lo");
}

INSTANTIATE_TEST_SUITE_P(Types, ReservedBit, ::testing::ValuesIn(reserved_cases()), reserved_name);

// --------------------------------------------------------- other IQE causes

TEST(QueueErrors, Iqe_UnknownTypeRaisesIqe) {
  QueueEnv qe;
  const std::vector<uint8_t> known = {1, 2, 3, 5, 6, 7, 8};
  int unknown = 0;
  for (unsigned t = 0; t < 128; ++t) {
    Descriptor d;
    d.w[0] = (t & 0xf) | uint64_t(t >> 4) << 9;
    ASSERT_EQ(d.type(), t);
    bool is_known = std::find(known.begin(), known.end(), t) != known.end();
    if (is_known) continue;
    ++unknown;
    SCOPED_TRACE("type " + std::to_string(t));
    EXPECT_EQ(check_descriptor(d, false), DescError::UnknownType);
    EXPECT_STREQ(desc_type_name(uint8_t(t)), "unknown");
    qe.q.reset();
    EXPECT_EQ(qe.q.submit({d}), 0u);
    EXPECT_TRUE(qe.q.fsts() & fsts::IQE);
    EXPECT_EQ(qe.q.head(), 0u);
  }
  EXPECT_EQ(unknown, 121);
}

TEST(QueueErrors, Iqe_BadGranularityRaisesIqe) {
  // Valid G: context 1-3, IOTLB 1-3, PASID-IOTLB 2-3, PASID-cache 0,1,3.
  const std::vector<std::pair<Descriptor, uint8_t>> types = {
      {desc::context_global(), 0b1110},
      {desc::iotlb_global(), 0b1110},
      {desc::piotlb_pasid(5, 1), 0b1100},
      {desc::pasid_cache_global(), 0b1011},
  };
  QueueEnv qe;
  for (const auto& [base, valid_g] : types) {
    for (uint8_t g = 0; g < 4; ++g) {
      Descriptor d = base;
      d.w[0] = (d.w[0] & ~bits(4, 5)) | uint64_t(g) << 4;
      SCOPED_TRACE(d.str());
      bool valid = valid_g >> g & 1;
      EXPECT_EQ(check_descriptor(d, false), valid ? DescError::None : DescError::BadGranularity);
      qe.q.reset();
      EXPECT_EQ(qe.q.submit({d}), valid ? 1u : 0u);
      EXPECT_EQ(bool(qe.q.fsts() & fsts::IQE), !valid);
      EXPECT_EQ(qe.q.head(), valid ? 16u : 0u);
    }
  }
}

TEST(QueueErrors, Iqe_WaitWithNeitherStatusWriteNorInterrupt) {
  QueueEnv qe;
  Descriptor sw = desc::wait(kStatus, 0x1234);
  Descriptor none = sw;
  none.w[0] &= ~bits(4, 5);
  Descriptor if_only = none;
  if_only.w[0] |= 1ull << 4;
  EXPECT_EQ(check_descriptor(none, false), DescError::NoStatus);
  EXPECT_EQ(check_descriptor(if_only, false), DescError::None);
  EXPECT_EQ(qe.q.submit({none}), 0u);
  EXPECT_TRUE(qe.q.fsts() & fsts::IQE);
  EXPECT_EQ(qe.status(), 0u);
  qe.q.reset();
  EXPECT_EQ(qe.q.submit({if_only}), 1u);
  EXPECT_EQ(qe.q.fsts(), 0u);
  EXPECT_EQ(qe.status(), 0u);  // IF alone writes no status
}

// 256-bit mode (IQA.DW): descriptors are 32 bytes and the
// upper half is reserved.
TEST(QueueErrors, Iqe_256BitDescriptorWithNonzeroUpperHalf) {
  Config cfg;
  QueueEnv qe(cfg, true);
  EXPECT_TRUE(qe.env.cpu().mmio_read(Reg::IQA) & iqa::DW);
  // Well-formed 256-bit descriptors advance the head by 32 bytes each.
  EXPECT_EQ(qe.q.submit({desc::iotlb_global(), desc::pasid_cache_global(), desc::wait(kStatus, 9)}),
            3u);
  EXPECT_EQ(qe.q.head(), 96u);
  EXPECT_EQ(qe.q.fsts(), 0u);
  EXPECT_EQ(qe.status(), 9u);
  for (const DescSpec& s : desc_specs())
    for (int word : {2, 3})
      for (unsigned b = 0; b < 64; ++b) {
        SCOPED_TRACE(std::string(s.name) + " w" + std::to_string(word) + " bit " +
                     std::to_string(b));
        Descriptor d = s.valid;
        d.w[word] = 1ull << b;
        EXPECT_EQ(check_descriptor(d, true), DescError::Reserved);
        EXPECT_EQ(check_descriptor(d, false), DescError::None);  // 128-bit mode never reads it
        qe.q.reset();
        EXPECT_EQ(qe.q.submit({d}), 0u);
        EXPECT_TRUE(qe.q.fsts() & fsts::IQE);
        EXPECT_EQ(qe.q.head(), 0u);
      }
}

// After IQE software fixes the descriptor and clears FSTS.IQE (write 1 to
// clear); the queue resumes at the head.
TEST(QueueErrors, Iqe_ClearedErrorResumesAtFixedDescriptor) {
  QueueEnv qe;
  Descriptor bad = desc::iotlb_domain(5);
  bad.w[1] |= 1ull << 8;  // reserved
  EXPECT_EQ(qe.q.submit({desc::iotlb_global(), bad, desc::wait(kStatus, 3)}), 1u);
  EXPECT_TRUE(qe.q.fsts() & fsts::IQE);
  EXPECT_EQ(qe.q.head(), 16u);
  EXPECT_EQ(qe.status(), 0u);
  qe.env.cpu().write64(qe.q.page() + 16 + 8, 0);  // fix the hi word
  qe.env.cpu().mmio_write(Reg::FSTS, fsts::IQE);
  EXPECT_EQ(qe.q.fsts(), 0u);
  EXPECT_EQ(qe.env.iommu().process_queue(), 2u);
  EXPECT_EQ(qe.q.head(), qe.q.tail());
  EXPECT_EQ(qe.status(), 3u);
}

// The queue is a ring: the tail wraps to the start of the queue page and
// the hardware follows it.
TEST(QueueRing, Queue_HeadFollowsTailAcrossWrap) {
  QueueEnv qe;
  const uint32_t entries = kPageSize / 16;  // IQA.QS = 0: one page
  uint32_t total = 0;
  for (uint32_t batch : {200u, 100u, 250u}) {
    for (uint32_t i = 0; i < batch; ++i) qe.q.put(desc::wait(kStatus, total + i + 1));
    qe.env.cpu().mmio_write(Reg::IQT, qe.q.tail());
    EXPECT_EQ(qe.env.iommu().process_queue(), batch);
    total += batch;
    EXPECT_EQ(qe.q.head(), (total % entries) * 16u);
    EXPECT_EQ(qe.q.head(), qe.q.tail());
    EXPECT_EQ(qe.status(), total);  // the last wait wrote last
  }
  EXPECT_EQ(qe.q.fsts(), 0u);
  EXPECT_EQ(qe.env.iommu().queue().processed(), total);
}

// ---------------------------------------------------------------- ITE

TEST(QueueErrors, Ite_DeviceTlbInvalidationToRemovedDevice) {
  const std::vector<std::pair<const char*, Descriptor>> descs = {
      {"devtlb", desc::devtlb(kSidA, 0x1000, 0)},
      {"devtlb_all", desc::devtlb_all(kSidA)},
      {"pdevtlb", desc::pdevtlb(kSidA, 1, 0x1000, 0)},
      {"pdevtlb_global", desc::pdevtlb_global(kSidA, 1)},
  };
  for (const auto& [name, d] : descs)
    for (bool removed : {false, true}) {
      SCOPED_TRACE(std::string(name) + (removed ? " removed" : " present"));
      QueueEnv qe;
      if (removed) qe.env.iommu().device_unplug(kSidA);
      EXPECT_EQ(qe.env.iommu().device_present(kSidA), !removed);
      qe.q.submit({d, desc::wait(kStatus, 5)});
      EXPECT_EQ(bool(qe.q.fsts() & fsts::ITE), removed);
      EXPECT_FALSE(qe.q.fsts() & fsts::IQE);
      // The wait behind a timed-out invalidation does not complete.
      EXPECT_EQ(qe.status(), removed ? 0u : 5u);
      auto errs = qe.env.rec.of(EventKind::QueueError);
      ASSERT_EQ(errs.size(), removed ? 1u : 0u);
      if (removed) {
        EXPECT_EQ(errs[0].e.v0, fsts::ITE);
        EXPECT_FALSE(errs[0].e.injected);
      }
    }
}

// Removal drops what the device cached (it is gone) and an IOTLB
// invalidation for it does not time out: only device-TLB descriptors do.
TEST(QueueErrors, Ite_OnlyDeviceTlbDescriptorsTimeOut) {
  QueueEnv qe;
  add_scalable(qe.env, kSidA, 0, kPgttSecond, 5, 0x1000, data_page(1), 4, true, 0, true);
  ASSERT_TRUE(qe.env.iommu().dma({kSidA, kNoPasid, 0x1000, Access::Read, 0}).done);
  ASSERT_EQ(qe.env.caches().size(CacheKind::DevTlb), 1u);
  qe.env.iommu().device_unplug(kSidA);
  EXPECT_EQ(qe.env.caches().size(CacheKind::DevTlb), 0u);
  qe.q.submit({desc::context_global(), desc::iotlb_domain(5), desc::pasid_cache_global(),
               desc::piotlb_pasid(5, 0), desc::wait(kStatus, 1)});
  EXPECT_EQ(qe.q.fsts(), 0u);
  EXPECT_EQ(qe.status(), 1u);
}

TEST(QueueErrors, Injected_ErrorIsReportedAsInjected) {
  for (uint64_t bit : {fsts::IQE, fsts::ICE, fsts::ITE}) {
    QueueEnv qe;
    qe.env.iommu().inject_queue_error(bit);
    qe.q.submit({desc::iotlb_global(), desc::wait(kStatus, 1)});
    EXPECT_EQ(qe.q.fsts(), bit);
    auto errs = qe.env.rec.of(EventKind::QueueError);
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_TRUE(errs[0].e.injected);
    EXPECT_EQ(qe.status(), 0u);
  }
}

// ---------------------------------------------------------------- wait

TEST(QueueWait, Wait_WritesStatusWordWhenReached) {
  QueueEnv qe;
  qe.env.cpu().write64(kStatus, 0xaaaaaaaabbbbbbbbull);
  qe.q.submit({desc::iotlb_global(), desc::wait(kStatus, 0x11111111)});
  EXPECT_EQ(qe.status(), 0xaaaaaaaa11111111ull);  // low half at kStatus
  qe.q.submit({desc::wait(kStatus + 4, 0x22222222)});
  EXPECT_EQ(qe.status(), 0x2222222211111111ull);  // high half at kStatus + 4
  EXPECT_EQ(qe.env.m->mem.hw_load(kStatus), qe.status());
  EXPECT_EQ(qe.env.cpu().read64(kStatus), qe.status());
  auto done = qe.env.rec.of(EventKind::WaitDone);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].e.addr, kStatus);
  EXPECT_EQ(done[0].e.v0, 0x11111111u);
  EXPECT_EQ(qe.q.head(), qe.q.tail());
}

// The CPU spins (relax) and the queue makes progress meanwhile.
TEST(QueueWait, Wait_CompletesWhileCpuSpins) {
  QueueEnv qe;
  SimCpu& cpu = qe.env.cpu();
  for (const Descriptor& d : {desc::iotlb_global(), desc::wait(kStatus, 1)}) qe.q.put(d);
  cpu.mmio_write(Reg::IQT, qe.q.tail());
  int spins = 0;
  while (cpu.read64(kStatus) != 1 && spins < 10) {
    cpu.relax();
    ++spins;
  }
  EXPECT_EQ(cpu.read64(kStatus), 1u);
  EXPECT_EQ(spins, 1);
}

// ------------------------------------------------- what each one removes

// A cache line, whatever the cache: enough to say which lines an
// invalidation removed.
struct Line {
  CacheKind kind;
  uint16_t sid = 0;
  uint32_t pasid = kNoPasid;
  uint16_t did = 0;
  uint8_t level = 0;
  Iova base = 0;
  auto operator<=>(const Line&) const = default;
  std::string str() const {
    char buf[120];
    snprintf(buf, sizeof buf, "%s sid=%s pasid=%d did=%u level=%u base=0x%llx",
             cache_kind_name(kind), Sid(sid).str().c_str(), int(pasid), did, level,
             (unsigned long long)base);
    return buf;
  }
};

std::vector<Line> lines(const Caches& c) {
  std::vector<Line> v;
  for (const auto& [sid, l] : c.ctx())
    v.push_back({CacheKind::Context, sid, kNoPasid, l.did, 0, 0});
  for (const auto& [k, l] : c.pasid())
    v.push_back({CacheKind::Pasid, k.first, k.second, l.did, 0, 0});
  for (const auto& [k, t] : c.iotlb())
    v.push_back({CacheKind::Iotlb, 0, k.pasid_tag, k.did, k.level, k.base});
  for (const auto& [k, l] : c.psc())
    v.push_back({CacheKind::Psc, 0, k.pasid_tag, k.did, k.level, k.base});
  for (const auto& [k, t] : c.devtlb())
    v.push_back({CacheKind::DevTlb, k.sid, k.pasid, 0, k.level, k.base});
  std::sort(v.begin(), v.end());
  return v;
}

bool covers(Iova base, uint64_t size, const Line& l) {
  uint64_t span = l.kind == CacheKind::Psc ? level_span(l.level + 1) : level_span(l.level);
  return l.base < base + size && base < l.base + span;
}

constexpr Iova kPage1 = 0x1000, kPage2 = 0x5000;  // both in the first 2 MiB
const Sid kSidC(0, 3, 0);
const Sid kSidD(0, 1, 1);  // same device as A, function 1

struct InvCase {
  std::string name;
  bool scalable;
  Descriptor d;
  std::function<bool(const Line&)> removes;
  bool removes_some = true;
};

// Scalable: A and B each have a second-stage RID_PASID entry (PASID 0) and
// a first-stage PASID 1, DIDs 5 (A) and 6 (B); all with DTE=1 and ATS, two
// pages each, every cache filled by DMA.
void populate_scalable(Env& env) {
  for (auto [sid, did, pa] : {std::tuple{kSidA, uint16_t(5), data_page(1)},
                              std::tuple{kSidB, uint16_t(6), data_page(3)}}) {
    Device ss = add_scalable(env, sid, 0, kPgttSecond, did, kPage1, pa, 4, true, 0, true);
    env.b->map(ss.ss, kPage2, pa + kPageSize);
    Device fs = add_scalable(env, sid, 1, kPgttFirst, did, kPage1, pa, 4, true, 0, true);
    env.b->map(fs.fs, kPage2, pa + kPageSize);
    env.iommu().device_plug(sid, true);
    for (uint32_t pasid : {kNoPasid, 1u})
      for (Iova iova : {kPage1, kPage2})
        ASSERT_TRUE(env.iommu().dma({sid, pasid, iova, Access::Read, 0}).done);
  }
}

// Legacy: A, C, D with DID 5 and B with DID 6, all TT=1 with ATS.
void populate_legacy(Env& env) {
  for (auto [sid, did] : {std::pair{kSidA, uint16_t(5)}, std::pair{kSidB, uint16_t(6)},
                          std::pair{kSidC, uint16_t(5)}, std::pair{kSidD, uint16_t(5)}}) {
    Device d = add_legacy(env, sid, kTtDevTlb, did, kPage1, data_page(1));
    env.b->map(d.ss, kPage2, data_page(2));
    env.iommu().device_plug(sid, true);
    for (Iova iova : {kPage1, kPage2})
      ASSERT_TRUE(env.iommu().dma({sid, kNoPasid, iova, Access::Read, 0}).done);
  }
}

std::vector<InvCase> inv_cases() {
  using L = const Line&;
  auto tlb = [](L l) { return l.kind == CacheKind::Iotlb || l.kind == CacheKind::Psc; };
  std::vector<InvCase> v;
  // --- scalable
  v.push_back({"Scalable_ContextGlobal", true, desc::context_global(),
               [](L l) { return l.kind == CacheKind::Context; }});
  // Scalable-mode context entries carry no DID: the SID alone selects.
  v.push_back({"Scalable_ContextDevice_DidIgnored", true, desc::context_device(99, kSidA),
               [](L l) { return l.kind == CacheKind::Context && l.sid == kSidA.v; }});
  v.push_back({"Scalable_IotlbGlobal", true, desc::iotlb_global(), tlb});
  v.push_back({"Scalable_IotlbDomain", true, desc::iotlb_domain(5),
               [tlb](L l) { return tlb(l) && l.did == 5; }});
  v.push_back({"Scalable_IotlbPage", true, desc::iotlb_page(5, kPage1, 0),
               [tlb](L l) { return tlb(l) && l.did == 5 && covers(kPage1, kPageSize, l); }});
  v.push_back({"Scalable_IotlbPageLeafOnly", true, desc::iotlb_page(5, kPage1, 0, true),
               [](L l) { return l.kind == CacheKind::Iotlb && l.did == 5 && l.base == kPage1; }});
  v.push_back({"Scalable_IotlbPageAm2", true, desc::iotlb_page(6, 0, 2),
               [tlb](L l) { return tlb(l) && l.did == 6 && covers(0, 4 * kPageSize, l); }});
  v.push_back({"Scalable_PasidIotlbPasid", true, desc::piotlb_pasid(5, 1),
               [tlb](L l) { return tlb(l) && l.did == 5 && l.pasid == 1; }});
  v.push_back({"Scalable_PasidIotlbPage", true, desc::piotlb_page(6, 1, kPage2, 0), [tlb](L l) {
                 return tlb(l) && l.did == 6 && l.pasid == 1 && covers(kPage2, kPageSize, l);
               }});
  v.push_back(
      {"Scalable_PasidIotlbPageLeafOnly", true, desc::piotlb_page(6, 1, kPage2, 0, true), [](L l) {
         return l.kind == CacheKind::Iotlb && l.did == 6 && l.pasid == 1 && l.base == kPage2;
       }});
  v.push_back({"Scalable_PasidCacheGlobal", true, desc::pasid_cache_global(),
               [](L l) { return l.kind == CacheKind::Pasid; }});
  v.push_back({"Scalable_PasidCacheDomain", true, desc::pasid_cache_domain(5),
               [](L l) { return l.kind == CacheKind::Pasid && l.did == 5; }});
  v.push_back({"Scalable_PasidCachePasid", true, desc::pasid_cache_pasid(5, 1),
               [](L l) { return l.kind == CacheKind::Pasid && l.did == 5 && l.pasid == 1; }});
  v.push_back({"Scalable_PasidCachePasidOtherDid", true, desc::pasid_cache_pasid(7, 1),
               [](L) { return false; }, false});
  v.push_back({"Scalable_DevTlbPage", true, desc::devtlb(kSidA, kPage1, 0), [](L l) {
                 return l.kind == CacheKind::DevTlb && l.sid == kSidA.v && l.pasid == kNoPasid &&
                        l.base == kPage1;
               }});
  v.push_back({"Scalable_DevTlbRange64K", true, desc::devtlb(kSidA, 0, 4), [](L l) {
                 return l.kind == CacheKind::DevTlb && l.sid == kSidA.v && l.pasid == kNoPasid;
               }});
  v.push_back({"Scalable_DevTlbAll", true, desc::devtlb_all(kSidB), [](L l) {
                 return l.kind == CacheKind::DevTlb && l.sid == kSidB.v && l.pasid == kNoPasid;
               }});
  v.push_back({"Scalable_PasidDevTlbPage", true, desc::pdevtlb(kSidA, 1, kPage2, 0), [](L l) {
                 return l.kind == CacheKind::DevTlb && l.sid == kSidA.v && l.pasid == 1 &&
                        l.base == kPage2;
               }});
  v.push_back({"Scalable_PasidDevTlbGlobal", true, desc::pdevtlb_global(kSidA, 1),
               [](L l) { return l.kind == CacheKind::DevTlb && l.sid == kSidA.v; }});
  v.push_back({"Scalable_Wait", true, desc::wait(kStatus, 1), [](L) { return false; }, false});
  // --- legacy
  v.push_back({"Legacy_ContextGlobal", false, desc::context_global(),
               [](L l) { return l.kind == CacheKind::Context; }});
  v.push_back({"Legacy_ContextDomain", false, desc::context_domain(5),
               [](L l) { return l.kind == CacheKind::Context && l.did == 5; }});
  v.push_back({"Legacy_ContextDevice", false, desc::context_device(5, kSidA),
               [](L l) { return l.kind == CacheKind::Context && l.sid == kSidA.v; }});
  v.push_back({"Legacy_ContextDeviceWrongDid", false, desc::context_device(6, kSidA),
               [](L) { return false; }, false});
  // FM=3 masks all three function bits: every function of device 01.
  v.push_back(
      {"Legacy_ContextDeviceFunctionMask", false, desc::context_device(5, kSidA, 3), [](L l) {
         return l.kind == CacheKind::Context && (l.sid & ~7) == (kSidA.v & ~7) && l.did == 5;
       }});
  v.push_back({"Legacy_IotlbGlobal", false, desc::iotlb_global(), tlb});
  v.push_back({"Legacy_IotlbDomain", false, desc::iotlb_domain(6),
               [tlb](L l) { return tlb(l) && l.did == 6; }});
  v.push_back({"Legacy_IotlbPage", false, desc::iotlb_page(5, kPage2, 0),
               [tlb](L l) { return tlb(l) && l.did == 5 && covers(kPage2, kPageSize, l); }});
  v.push_back({"Legacy_DevTlbPage", false, desc::devtlb(kSidC, kPage2, 0), [](L l) {
                 return l.kind == CacheKind::DevTlb && l.sid == kSidC.v && l.base == kPage2;
               }});
  return v;
}

void PrintTo(const InvCase& c, std::ostream* os) {
  *os << c.name << ": " << c.d.str();
}

class Invalidation : public ::testing::TestWithParam<InvCase> {};

TEST_P(Invalidation, Descriptor_RemovesWhatItNamesAndNothingElse) {
  const InvCase& c = GetParam();
  QueueEnv qe(c.scalable ? Config{} : legacy_config());
  if (c.scalable)
    populate_scalable(qe.env);
  else
    populate_legacy(qe.env);
  const std::vector<Line> before = lines(qe.env.caches());
  // Every cache holds something, so "nothing else" is a real claim.
  for (CacheKind k : {CacheKind::Context, CacheKind::Iotlb, CacheKind::Psc, CacheKind::DevTlb})
    ASSERT_GT(qe.env.caches().size(k), 0u) << cache_kind_name(k);
  if (c.scalable) ASSERT_EQ(qe.env.caches().size(CacheKind::Pasid), 4u);

  ASSERT_EQ(check_descriptor(c.d, false), DescError::None) << c.d.str();
  EXPECT_EQ(qe.q.submit({c.d}), 1u);
  ASSERT_EQ(qe.q.fsts(), 0u);

  std::vector<Line> want;
  size_t removed = 0;
  for (const Line& l : before) {
    if (c.removes(l))
      ++removed;
    else
      want.push_back(l);
  }
  const std::vector<Line> after = lines(qe.env.caches());
  std::string diff;
  for (const Line& l : want)
    if (!std::binary_search(after.begin(), after.end(), l))
      diff += "  removed too: " + l.str() + "\n";
  for (const Line& l : after)
    if (!std::binary_search(want.begin(), want.end(), l)) diff += "  kept: " + l.str() + "\n";
  EXPECT_TRUE(diff.empty()) << c.d.str() << "\n" << diff;
  EXPECT_EQ(removed > 0, c.removes_some);
}

std::string inv_name(const ::testing::TestParamInfo<InvCase>& i) {
  return i.param.name;
}

INSTANTIATE_TEST_SUITE_P(Descriptors, Invalidation, ::testing::ValuesIn(inv_cases()), inv_name);

}  // namespace
}  // namespace vtd::sim
