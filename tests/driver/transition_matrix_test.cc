// Transition matrix: every main writer x every move between catalog domains
// (attach, replace, detach, PASID set/replace/remove, legacy context
// replace), each on the four store/coherency variants (cmpxchg16b or not,
// coherent or not). After the call the hardware-visible tables decode to the
// target configuration and a DMA through them gives the target's mapping.
#include <gtest/gtest.h>

#include <tuple>

#include "tests/driver/domains.h"
#include "tests/driver/driver_test_util.h"

namespace vtd::drvtest {
namespace {

const Sid kDev(0, 2, 0);
constexpr bool kAts = true;

// No field outside the configuration's used bits may be left set (no
// leftovers of the previous configuration).
void ExpectNoStrayBits(const Entry& e) {
  const Entry used = sim::used_bits(e);
  for (int i = 0; i < sim::format_of(e.kind).words; ++i)
    EXPECT_EQ(e.w[size_t(i)] & ~used.w[size_t(i)], 0u) << "word " << i << " of " << e.str();
}

// The hardware-visible entry attaching (sid, pasid) decodes to `to`.
void ExpectEntryDecodesTo(const Rig& r, Sid sid, uint32_t pasid, Dom to) {
  SCOPED_TRACE(std::string("expected ") + dom_name(to));
  if (r.platform.scalable) {
    const Entry ctx = r.hw_context(sid);
    EXPECT_EQ(sim::decode(ctx), sim::FaultReason::None) << ctx.str();
    EXPECT_EQ(ctx.get(Field::PASIDE), 1u);
    EXPECT_EQ(ctx.get(Field::DTE), uint64_t(kAts));
    EXPECT_EQ(ctx.get(Field::RID_PASID), drv::kRidPasid);
  }
  const Entry e = r.hw_entry(sid, pasid);
  if (to == Dom::None) {
    // Torn down: not present and zeroed (P first, the rest after the flush).
    for (int i = 0; i < sim::format_of(e.kind).words; ++i)
      EXPECT_EQ(e.w[size_t(i)], 0u) << "word " << i << " of " << e.str();
    return;
  }
  ASSERT_EQ(sim::decode(e), sim::FaultReason::None) << e.str();
  const uint16_t did = expected_did(r, to);
  EXPECT_NE(did, 0u);
  EXPECT_EQ(e.get(Field::DID), did) << e.str();
  ExpectNoStrayBits(e);
  if (!r.platform.scalable) {
    const uint64_t tt = to == Dom::Ident ? sim::kTtPassThrough
                        : kAts           ? sim::kTtDevTlb
                                         : sim::kTtTranslate;
    EXPECT_EQ(e.get(Field::TT), tt) << e.str();
    if (to != Dom::Ident) EXPECT_EQ(e.get(Field::AW), 2u) << e.str();  // 4-level
    return;
  }
  EXPECT_EQ(e.get(Field::PGTT), dom_pgtt(to)) << e.str();
  for (int i = 4; i < 8; ++i) EXPECT_EQ(e.w[size_t(i)], 0u) << "reserved chunk word " << i;
  switch (dom_pgtt(to)) {
    case sim::kPgttSecond:
      EXPECT_EQ(e.get(Field::AW), 2u);
      break;
    case sim::kPgttFirst:
      EXPECT_EQ(e.get(Field::FSPM), 0u);
      break;
    case sim::kPgttNested:
      EXPECT_EQ(e.get(Field::AW), 2u);
      EXPECT_EQ(e.get(Field::FSPM), 0u);
      break;
    default:
      break;
  }
}

// B9 (intended): the legacy writer replaces a legacy-mode context entry
// without a context-cache invalidation, so its cached view stays stale.
bool known_stale_cache(const std::string& writer, const Move& mv) {
  return writer == "legacy" && !mv.scalable && mv.from != Dom::None && mv.to != Dom::None;
}

void RunMoveOn(Rig& r, const std::string& writer, const Move& mv);

// Returns false when the writer refuses the platform (Driver::init() fails
// with -ENODEV: a flow written only for CPUs with cmpxchg16b).
bool RunMove(const Platform& p, const std::string& writer, const Move& mv) {
  Rig r(p, writer);
  if (r.init_status == Status::NoDev && !p.cpu128) return false;
  EXPECT_EQ(r.init_status, Status::Ok);
  if (r.init_status != Status::Ok) return true;
  RunMoveOn(r, writer, mv);
  return true;
}

void RunMoveOn(Rig& r, const std::string& writer, const Move& mv) {
  const Platform& p = r.platform;
  ASSERT_EQ(r.add_device(kDev, kAts, p.scalable), Status::Ok);
  ASSERT_EQ(alloc_domains(r), Status::Ok);
  const uint32_t pasid = mv.pasid();
  // PASID moves run with the RID attached elsewhere: they must not disturb it.
  if (mv.where == Where::Pasid) ASSERT_EQ(r.d.attach(kDev, dom_id(Dom::Parent)), Status::Ok);
  if (mv.from != Dom::None) {
    ASSERT_EQ(apply(r, kDev, mv.where, Dom::None, mv.from), Status::Ok);
    // Warm every cache with the old configuration.
    ExpectDma(r, kDev, pasid, mv.from, 0x1111);
  }
  if (mv.where == Where::Pasid) ExpectDma(r, kDev, drv::kRidPasid, Dom::Parent, 0x2222);

  ASSERT_EQ(apply(r, kDev, mv), Status::Ok) << mv.op();

  if (!known_stale_cache(writer, mv)) {
    SCOPED_TRACE("through the caches");
    ExpectDma(r, kDev, pasid, mv.to, 0x3333);
  }
  {
    SCOPED_TRACE("memory");
    ExpectEntryDecodesTo(r, kDev, pasid, mv.to);
    r.flush_caches();
    ExpectTranslation(r, kDev, pasid, mv.to);
    ExpectDma(r, kDev, pasid, mv.to, 0x4444);
  }
  if (mv.where == Where::Pasid) {
    SCOPED_TRACE("RID untouched by the PASID move");
    ExpectEntryDecodesTo(r, kDev, drv::kRidPasid, Dom::Parent);
    ExpectTranslation(r, kDev, drv::kRidPasid, Dom::Parent);
  }
}

class TransitionMatrix : public ::testing::TestWithParam<std::tuple<std::string, Move>> {};

TEST_P(TransitionMatrix, TablesDecodeToTargetAndTranslateThroughIt) {
  const auto& [writer, mv] = GetParam();
  int ran = 0;
  for (const Platform& p : store_variants(mv.scalable)) {
    SCOPED_TRACE(p.name());
    ran += RunMove(p, writer, mv);
  }
  EXPECT_GE(ran, 2) << "every writer runs at least with cmpxchg16b";
}

INSTANTIATE_TEST_SUITE_P(Writers, TransitionMatrix,
                         ::testing::Combine(::testing::ValuesIn(main_writers()),
                                            ::testing::ValuesIn(all_moves())),
                         [](const ::testing::TestParamInfo<TransitionMatrix::ParamType>& info) {
                           return param_name(std::get<0>(info.param) + "_" +
                                             std::get<1>(info.param).name());
                         });

}  // namespace
}  // namespace vtd::drvtest
