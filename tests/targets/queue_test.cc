// The queue target's reference (targets/queue.h) against the simulator's
// invalidation queue: the reference flags a wrong scope, and the simulator
// agrees with it on every generated input.
#include "targets/queue.h"

#include <gtest/gtest.h>

#include <set>

#include "simulator/rng.h"

namespace vtd::queue {
namespace {

using sim::CacheKind;
using sim::kNoPasid;
using sim::Sid;
namespace desc = sim::desc;

const uint16_t kDev = Sid(0, 2, 0).v, kOther = Sid(0, 3, 0).v;

Line line(CacheKind c, uint16_t sid, uint32_t pasid, uint16_t did, uint8_t level, sim::Iova base) {
  return {c, sid, pasid, did, level, base, true};
}

// One descriptor, one line it must remove and one it must keep.
struct ScopeCase {
  const char* name;
  sim::Descriptor d;
  Line in, out;
};

std::vector<ScopeCase> scope_cases() {
  const Line iotlb2 = line(CacheKind::Iotlb, 0, kNoPasid, 2, 1, 0x1000);
  const Line iotlb3 = line(CacheKind::Iotlb, 0, kNoPasid, 3, 1, 0x1000);
  const Line fs2p1 = line(CacheKind::Iotlb, 0, 1, 2, 1, 0x1000);
  const Line fs2p2 = line(CacheKind::Iotlb, 0, 2, 2, 1, 0x1000);
  const Line psc2 = line(CacheKind::Psc, 0, kNoPasid, 2, 1, 0);
  return {
      {"ContextGlobal", desc::context_global(), line(CacheKind::Context, kDev, kNoPasid, 2, 0, 0),
       iotlb2},
      {"ContextDomain", desc::context_domain(2), line(CacheKind::Context, kDev, kNoPasid, 2, 0, 0),
       line(CacheKind::Context, kOther, kNoPasid, 3, 0, 0)},
      {"ContextDeviceFm1", desc::context_device(2, Sid(0, 2, 4), 1),
       line(CacheKind::Context, kDev, kNoPasid, 2, 0, 0),
       line(CacheKind::Context, kOther, kNoPasid, 2, 0, 0)},
      {"IotlbGlobal", desc::iotlb_global(), iotlb3,
       line(CacheKind::Context, kDev, kNoPasid, 2, 0, 0)},
      {"IotlbDomain_AnyPasid", desc::iotlb_domain(2), fs2p1, iotlb3},
      {"IotlbPage_Am1", desc::iotlb_page(2, 0x0, 1), iotlb2,
       line(CacheKind::Iotlb, 0, kNoPasid, 2, 1, 0x2000)},
      {"IotlbPage_IhKeepsPagingStructures", desc::iotlb_page(2, 0x1000, 0, true), iotlb2, psc2},
      {"PasidIotlb_OnlyItsPasid", desc::piotlb_pasid(2, 1), fs2p1, fs2p2},
      {"PasidIotlbPage", desc::piotlb_page(2, 1, 0x1000, 0), fs2p1,
       line(CacheKind::Iotlb, 0, 1, 2, 1, 0x3000)},
      {"PasidCacheDomain", desc::pasid_cache_domain(2), line(CacheKind::Pasid, kDev, 1, 2, 0, 0),
       line(CacheKind::Pasid, kDev, 1, 3, 0, 0)},
      {"PasidCachePasid", desc::pasid_cache_pasid(2, 1), line(CacheKind::Pasid, kDev, 1, 2, 0, 0),
       line(CacheKind::Pasid, kDev, 2, 2, 0, 0)},
      {"PasidCacheGlobal", desc::pasid_cache_global(), line(CacheKind::Pasid, kDev, 1, 3, 0, 0),
       iotlb2},
      {"DevTlb_NoPasidOnly", desc::devtlb(Sid(kDev), 0x1000, 0),
       line(CacheKind::DevTlb, kDev, kNoPasid, 0, 1, 0x1000),
       line(CacheKind::DevTlb, kDev, 1, 0, 1, 0x1000)},
      {"DevTlb_SizeEncoded", desc::devtlb(Sid(kDev), 0x4000, 2),
       line(CacheKind::DevTlb, kDev, kNoPasid, 0, 1, 0x7000),
       line(CacheKind::DevTlb, kDev, kNoPasid, 0, 1, 0x8000)},
      {"PasidDevTlb", desc::pdevtlb(Sid(kDev), 1, 0x1000, 0),
       line(CacheKind::DevTlb, kDev, 1, 0, 1, 0x1000),
       line(CacheKind::DevTlb, kOther, 1, 0, 1, 0x1000)},
  };
}

class QueueScope : public ::testing::TestWithParam<ScopeCase> {};

TEST_P(QueueScope, MissedOrExtraInvalidation_IsAFinding) {
  const ScopeCase& c = GetParam();
  ASSERT_TRUE(removes(c.d, true, c.in));
  ASSERT_FALSE(removes(c.d, true, c.out));
  std::vector<Line> before = {c.in, c.out};
  std::sort(before.begin(), before.end());
  EXPECT_TRUE(check_scope(c.d, true, before, {c.out}).empty());
  const std::vector<Finding> missed = check_scope(c.d, true, before, before);
  ASSERT_EQ(missed.size(), 1u);
  EXPECT_EQ(missed[0].rule, "scope");
  EXPECT_NE(missed[0].what.find("left a line in its scope"), std::string::npos) << missed[0].what;
  const std::vector<Finding> extra = check_scope(c.d, true, before, {});
  ASSERT_EQ(extra.size(), 1u);
  EXPECT_NE(extra[0].what.find("removed a line outside its scope"), std::string::npos)
      << extra[0].what;
}

INSTANTIATE_TEST_SUITE_P(Descriptors, QueueScope, ::testing::ValuesIn(scope_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

// Legacy mode: a device-selective context invalidation matches the DID too.
TEST(QueueScopeLegacy, ContextDevice_MatchesTheDid) {
  const sim::Descriptor d = desc::context_device(2, Sid(kDev), 0);
  EXPECT_TRUE(removes(d, false, line(CacheKind::Context, kDev, kNoPasid, 2, 0, 0)));
  EXPECT_FALSE(removes(d, false, line(CacheKind::Context, kDev, kNoPasid, 3, 0, 0)));
  EXPECT_TRUE(removes(d, true, line(CacheKind::Context, kDev, kNoPasid, 0, 0, 0)));
}

// Inputs made of whole records, mostly fills and structured descriptors, so
// that descriptors meet lines near their scope's edges.
std::vector<std::vector<uint8_t>> queue_inputs(size_t n) {
  std::vector<std::vector<uint8_t>> out;
  sim::Rng s(7);
  // opcode % 6 -> record length after the opcode (targets/queue.h)
  static constexpr int kArgs[] = {2, 6, 16, 1, 0, 1};
  static constexpr int kWeight[] = {10, 6, 1, 3, 1, 1};  // fill, desc, raw, process, ...
  for (size_t i = 0; i < n; ++i) {
    std::vector<uint8_t> b = {uint8_t(s.next() & 0x7f)};
    for (size_t records = 1 + s.below(60); records; --records) {
      int pick = int(s.below(22)), op = 0;
      while (pick >= kWeight[op]) pick -= kWeight[op++];
      b.push_back(uint8_t(op + 6 * s.below(42)));
      for (int a = 0; a < kArgs[op] * (op == 2 && (b[0] & 1) ? 2 : 1); ++a) {
        const uint64_t r = s.next();
        b.push_back(uint8_t(op == 1 && a == 4 && r % 8 ? r & 0x7f : r >> 8));  // few flipped bits
      }
    }
    out.push_back(std::move(b));
  }
  return out;
}

TEST(QueueTarget, SimulatorAgreesWithTheReference_OnEveryGeneratedInput) {
  std::set<uint8_t> types;
  size_t executed = 0;
  uint32_t iqe = 0, ite = 0, removed = 0;
  for (const std::vector<uint8_t>& in : queue_inputs(3000)) {
    const Result r = run(in);
    for (const Finding& f : r.findings)
      ADD_FAILURE() << f.rule << ": " << f.what << "\n" << listing(in);
    if (r.violated()) break;
    types.insert(r.types.begin(), r.types.end());
    executed += r.types.size();
    iqe += r.iqe;
    ite += r.ite;
    removed += r.removed;
  }
  // Not vacuous: every descriptor type ran, errors happened, lines went.
  EXPECT_EQ(types,
            (std::set<uint8_t>{sim::kDescContext, sim::kDescIotlb, sim::kDescDevTlb, sim::kDescWait,
                               sim::kDescPasidIotlb, sim::kDescPasidCache, sim::kDescPasidDevTlb}));
  EXPECT_GT(executed, 1000u);
  EXPECT_GT(iqe, 100u);
  EXPECT_GT(ite, 10u);
  EXPECT_GT(removed, 1000u);
}

TEST(QueueTarget, SameInput_SameResult) {
  for (const std::vector<uint8_t>& in : queue_inputs(50)) {
    const Result a = run(in), b = run(in);
    EXPECT_EQ(a.types, b.types);
    EXPECT_EQ(a.removed, b.removed);
    EXPECT_EQ(listing(in), listing(in));
  }
}

TEST(QueueTarget, Listing_NamesEveryRecord) {
  // header: 256-bit, scalable; fill iotlb; desc iotlb page; process 1; recover; hotplug.
  const std::vector<uint8_t> in = {0x03, 12, 0x04, 0x01, 1, 0x01, 0x00, 0x00,
                                   0x01, 0,  0,    3,    0, 4,    5,    2};
  const std::string s = listing(in);
  EXPECT_NE(s.find("queue dw256 scalable qs=0"), std::string::npos) << s;
  EXPECT_NE(s.find("fill iotlb"), std::string::npos) << s;
  EXPECT_NE(s.find("desc iotlb"), std::string::npos) << s;
  EXPECT_NE(s.find("process 1"), std::string::npos) << s;
  EXPECT_NE(s.find("recover"), std::string::npos) << s;
  EXPECT_NE(s.find("hotplug 00:03.0"), std::string::npos) << s;
}

}  // namespace
}  // namespace vtd::queue
