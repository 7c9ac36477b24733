// The simulator's side of live update (DESIGN.md section 12): the global
// command/status registers (spec 11.4.4-11.4.6), KHO preservation of
// physical pages and the kexec, which frees everything not preserved and
// leaves the remapping unit as it is.
#include <gtest/gtest.h>

#include "tests/simulator/sim_test_util.h"

namespace vtd::sim {
namespace {

using testutil::Env;

const Sid kSid(0, 2, 0);
constexpr Iova kIova = 0x1000;
constexpr PhysAddr kData = 0x80000;

// A device translating kIova to kData through a second-stage PASID entry.
void setup(Env& env) {
  testutil::add_scalable(env, kSid, 0, kPgttSecond, 5, kIova, kData);
  env.iommu().device_plug(kSid, false);
}

TEST(GlobalCommand, TranslationDisabled_DmaIsNotRemapped) {
  Env env(Config{});
  setup(env);
  ASSERT_EQ(env.iommu().dma({kSid, kNoPasid, kIova, Access::Read, 0}).xlat.pa, kData);
  env.cpu().mmio_write(Reg::GCMD, 0);  // TE clear
  EXPECT_FALSE(env.iommu().translating());
  const DmaResult r = env.iommu().dma({kSid, kNoPasid, kIova, Access::Read, 0});
  EXPECT_TRUE(r.xlat.ok());
  EXPECT_EQ(r.xlat.pa, kIova) << "with TE clear the IOVA is the address";
  EXPECT_FALSE(env.iommu().walk_split({kSid, kNoPasid, kIova, Access::Read}, 1))
      << "nothing is walked";
}

TEST(GlobalCommand, Rtaddr_IsUsedFromTheNextSrtp) {
  Env env(Config{});
  setup(env);
  const uint64_t root = env.iommu().rtaddr();
  const PhysAddr other = env.cpu().alloc_page(PageType::Root);
  env.cpu().mmio_write(Reg::RTADDR, other | rtaddr::TTM_SCALABLE);
  EXPECT_EQ(env.iommu().rtaddr(), root) << "written, not latched";
  EXPECT_EQ(env.cpu().mmio_read(Reg::RTADDR), other | rtaddr::TTM_SCALABLE);
  EXPECT_EQ(env.iommu().dma({kSid, kNoPasid, kIova, Access::Read, 0}).xlat.pa, kData);
  env.cpu().mmio_write(Reg::GCMD, gcmd::TE | gcmd::SRTP);
  EXPECT_EQ(env.iommu().rtaddr(), other | rtaddr::TTM_SCALABLE);
  EXPECT_TRUE(env.cpu().mmio_read(Reg::GSTS) & gsts::RTPS);
}

TEST(GlobalCommand, QueueIsProcessedOnlyWithQie) {
  Machine m(Config{});
  testutil::QueueDriver q(m);
  m.cpu0.mmio_write(Reg::GCMD, 0);  // QIE clear
  EXPECT_EQ(q.submit({desc::iotlb_global()}), 0u);
  m.cpu0.mmio_write(Reg::GCMD, gcmd::QIE);
  EXPECT_EQ(m.iommu.process_queue(), 1u);
}

TEST(Kho, Kexec_FreesEveryPageNotPreserved) {
  PhysMemory mem(true);
  const PhysAddr kept = mem.alloc(PageType::PageTable), gone = mem.alloc(PageType::PageTable);
  mem.commit(kept, 0x1234, 0);
  mem.commit(gone, 0x5678, 0);
  mem.preserve(kept, true);
  EXPECT_EQ(mem.kexec(0x4000), 1u);
  EXPECT_EQ(mem.type(kept), PageType::PageTable);
  EXPECT_EQ(mem.hw_load(kept), 0x1234u);
  EXPECT_EQ(mem.type(gone), PageType::Free);
  EXPECT_TRUE(mem.hw_poisoned(gone)) << "a later hardware read of it is P6";
  EXPECT_EQ(mem.kho(), 0x4000u) << "the one value the next kernel boots with";
}

TEST(Kho, Allocator_NeverHandsOutAPreservedPage) {
  PhysMemory mem(true);
  const PhysAddr p = mem.alloc(PageType::PageTable);
  mem.preserve(p, true);
  mem.free(p);  // freed while preserved: stays out of the pool
  for (int i = 0; i < 8; ++i) EXPECT_NE(mem.alloc(PageType::PageTable), p);
  mem.preserve(p, false);
  EXPECT_EQ(mem.alloc(PageType::PageTable), p) << "back in the pool once unpreserved";
}

TEST(Kho, Kexec_WritesBackCpuCachesFirst) {
  PhysMemory mem(false);  // non-coherent: the walker reads DRAM
  const PhysAddr p = mem.alloc(PageType::Context);
  mem.commit(p, 0x1001, 0);
  ASSERT_TRUE(mem.hw_poisoned(p));
  mem.preserve(p, true);
  mem.kexec(0);
  EXPECT_FALSE(mem.hw_poisoned(p));
  EXPECT_EQ(mem.hw_load(p), 0x1001u);
}

// DESIGN.md section 12: the IOMMU is not reset; caches, the root register,
// TE and parked walks survive the kexec.
TEST(Kho, Kexec_LeavesTheUnitAsItIs) {
  Env env(Config{});
  setup(env);
  ASSERT_TRUE(env.iommu().dma({kSid, kNoPasid, kIova, Access::Read, 0}).xlat.ok());
  env.caches().pasid_inv_global();  // the next walk fetches the PASID entry: it parks in it
  ASSERT_TRUE(env.iommu().walk_split({kSid, kNoPasid, kIova + kPageSize, Access::Read}, 1));
  const uint64_t root = env.iommu().rtaddr(), gsts = env.iommu().gsts();
  const size_t lines = env.iommu().caches().size(CacheKind::Iotlb);
  env.m->mem.kexec(0);
  EXPECT_EQ(env.iommu().rtaddr(), root);
  EXPECT_EQ(env.iommu().gsts(), gsts);
  EXPECT_EQ(env.iommu().caches().size(CacheKind::Iotlb), lines);
  EXPECT_EQ(env.iommu().parked_walks(), 1u);
}

}  // namespace
}  // namespace vtd::sim
