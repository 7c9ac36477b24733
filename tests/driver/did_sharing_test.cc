// DID sharing (DESIGN.md section 5, "Shared machinery"; spec 6.2.1: the
// IOTLB is tagged by DID): devices attached to one domain share its DID,
// distinct domains get distinct DIDs, a DID freed when a domain loses its
// last attachment goes to the next domain that attaches, and pass-through
// and SVA use DID 1 without taking one from the allocator.
#include <gtest/gtest.h>

#include <tuple>

#include "tests/driver/driver_test_util.h"

namespace vtd::drvtest {
namespace {

constexpr uint8_t kRW = drv::kRead | drv::kWrite;
constexpr Iova kIova = 0x1000;
const Sid kDev1(0, 2, 0), kDev2(0, 3, 0), kDev3(1, 0, 0);
constexpr DomainId kA = 1, kB = 2, kC = 3, kIdent = 4, kSva = 5;

using DidParam = std::tuple<std::string, bool>;  // writer, scalable

class DidSharing : public ::testing::TestWithParam<DidParam> {
 protected:
  void SetUp() override {
    const auto& [writer, scalable] = GetParam();
    r = std::make_unique<Rig>(Platform{scalable}, writer);
    ASSERT_EQ(r->init_status, Status::Ok);
    for (Sid s : {kDev1, kDev2, kDev3}) ASSERT_EQ(r->add_device(s, false, scalable), Status::Ok);
    for (DomainId id : {kA, kB, kC}) {
      ASSERT_EQ(r->d.domain_alloc(id, DomainType::SecondStage), Status::Ok);
      ASSERT_EQ(r->d.map(id, kIova, data_pa(id), sim::kPageSize, kRW), Status::Ok);
    }
    ASSERT_EQ(r->d.domain_alloc(kIdent, DomainType::Identity), Status::Ok);
    if (scalable) {
      ASSERT_EQ(r->d.domain_alloc(kSva, DomainType::Sva), Status::Ok);
      ASSERT_EQ(r->d.map(kSva, kIova, data_pa(kSva), sim::kPageSize, kRW), Status::Ok);
    }
  }
  // Two domains in use: kDev1 and kDev2 on kA, kDev3 on kB.
  void AttachTwoDomains() {
    ASSERT_EQ(r->d.attach(kDev1, kA), Status::Ok);
    ASSERT_EQ(r->d.attach(kDev2, kA), Status::Ok);
    ASSERT_EQ(r->d.attach(kDev3, kB), Status::Ok);
  }
  bool scalable() const { return std::get<1>(GetParam()); }
  uint16_t entry_did(Sid sid, uint32_t pasid = drv::kRidPasid) const {
    return uint16_t(r->hw_entry(sid, pasid).get(Field::DID));
  }
  // The hardware tags the translation with the DID (what the IOTLB keys on).
  uint16_t translation_did(Sid sid, uint32_t pasid = drv::kRidPasid) {
    r->flush_caches();
    const sim::Translation t = r->translate(sid, pasid, kIova);
    EXPECT_TRUE(t.ok()) << sim::fault_reason_name(t.fault);
    return t.did;
  }
  std::unique_ptr<Rig> r;
};

TEST_P(DidSharing, DevicesOnOneDomainShareItsDid) {
  ASSERT_EQ(r->d.attach(kDev1, kA), Status::Ok);
  ASSERT_EQ(r->d.attach(kDev2, kA), Status::Ok);
  const uint16_t a = r->d.did_of(kA);
  EXPECT_GE(a, drv::DidAllocator::kFirst);
  for (Sid s : {kDev1, kDev2}) {
    SCOPED_TRACE(s.str());
    EXPECT_EQ(entry_did(s), a);
    EXPECT_EQ(translation_did(s), a);
  }
  if (scalable()) {  // a PASID attachment of the domain shares it too
    ASSERT_EQ(r->d.set_pasid(kDev3, 5, kA), Status::Ok);
    EXPECT_EQ(entry_did(kDev3, 5), a);
    EXPECT_EQ(translation_did(kDev3, 5), a);
  }
  EXPECT_EQ(r->d.did_of(kA), a);
  EXPECT_EQ(r->d.dids_in_use(), 1u);
}

TEST_P(DidSharing, DistinctDomainsGetDistinctDids) {
  ASSERT_NO_FATAL_FAILURE(AttachTwoDomains());
  const uint16_t a = r->d.did_of(kA), b = r->d.did_of(kB);
  EXPECT_GE(b, drv::DidAllocator::kFirst);
  EXPECT_NE(a, b);
  EXPECT_EQ(entry_did(kDev3), b);
  EXPECT_EQ(translation_did(kDev3), b);
  EXPECT_EQ(entry_did(kDev1), a);
  EXPECT_EQ(r->d.did_of(kC), 0u) << "a domain gets its DID at its first attachment";
  EXPECT_EQ(r->d.dids_in_use(), 2u);
}

TEST_P(DidSharing, FreedDidIsReusedByTheNextDomainThatAttaches) {
  ASSERT_NO_FATAL_FAILURE(AttachTwoDomains());
  const uint16_t a = r->d.did_of(kA), b = r->d.did_of(kB);
  ASSERT_EQ(r->d.detach(kDev1), Status::Ok);
  EXPECT_EQ(r->d.did_of(kA), a) << "still attached through the second device";
  EXPECT_EQ(entry_did(kDev2), a);
  ASSERT_EQ(r->d.detach(kDev2), Status::Ok);
  EXPECT_EQ(r->d.did_of(kA), 0u) << "fully detached: its DID is freed";
  EXPECT_EQ(r->d.dids_in_use(), 1u);
  ASSERT_EQ(r->d.attach(kDev1, kC), Status::Ok);
  EXPECT_EQ(r->d.did_of(kC), a) << "the freed DID goes to the next domain";
  EXPECT_EQ(entry_did(kDev1), a);
  EXPECT_EQ(translation_did(kDev1), a);
  EXPECT_EQ(r->d.did_of(kB), b);
  // A domain re-attached after losing its DID gets a fresh one.
  ASSERT_EQ(r->d.attach(kDev2, kA), Status::Ok);
  EXPECT_NE(r->d.did_of(kA), a);
  EXPECT_NE(r->d.did_of(kA), b);
  EXPECT_EQ(entry_did(kDev2), r->d.did_of(kA));
  EXPECT_EQ(r->d.dids_in_use(), 3u);
}

TEST_P(DidSharing, ReplaceFreesTheOldDomainsDidForReuse) {
  ASSERT_EQ(r->d.attach(kDev1, kA), Status::Ok);
  const uint16_t a = r->d.did_of(kA);
  ASSERT_EQ(r->d.replace(kDev1, kB), Status::Ok);
  EXPECT_EQ(r->d.did_of(kA), 0u);
  EXPECT_NE(r->d.did_of(kB), a);
  EXPECT_EQ(entry_did(kDev1), r->d.did_of(kB));
  ASSERT_EQ(r->d.attach(kDev2, kC), Status::Ok);
  EXPECT_EQ(r->d.did_of(kC), a);
  EXPECT_EQ(r->d.dids_in_use(), 2u);
}

TEST_P(DidSharing, PassThroughAndSvaUseDid1AndTakeNoDid) {
  ASSERT_EQ(r->d.attach(kDev1, kIdent), Status::Ok);
  EXPECT_EQ(entry_did(kDev1), drv::DidAllocator::kDefaultDid);
  EXPECT_EQ(translation_did(kDev1), drv::DidAllocator::kDefaultDid);
  if (scalable()) {
    const uint32_t pasid = r->d.sva_pasid(kSva);
    ASSERT_EQ(r->d.set_pasid(kDev2, pasid, kSva), Status::Ok);
    EXPECT_EQ(entry_did(kDev2, pasid), drv::DidAllocator::kDefaultDid);
    EXPECT_EQ(translation_did(kDev2, pasid), drv::DidAllocator::kDefaultDid);
  }
  EXPECT_EQ(r->d.dids_in_use(), 0u);
  ASSERT_EQ(r->d.attach(kDev3, kA), Status::Ok);
  EXPECT_GE(r->d.did_of(kA), drv::DidAllocator::kFirst) << "DIDs 0 and 1 are never allocated";
  EXPECT_EQ(r->d.dids_in_use(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Writers, DidSharing,
                         ::testing::Combine(::testing::ValuesIn(main_writers()), ::testing::Bool()),
                         [](const ::testing::TestParamInfo<DidParam>& info) {
                           return param_name(std::get<0>(info.param) +
                                             (std::get<1>(info.param) ? "_scalable" : "_legacy"));
                         });

}  // namespace
}  // namespace vtd::drvtest
