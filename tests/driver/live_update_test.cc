// The rules of DESIGN.md section 12 (live update), one test each, on the
// reference flow: two kernels on one machine, each a Driver with its own
// flow; the kexec between them is the flow's shutdown and
// PhysMemory::kexec(), and the only thing the second kernel is given is the
// KHO page's address.
#include "driver/live_update.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>

#include "tests/driver/driver_test_util.h"

namespace vtd::drvtest {
namespace {

const Sid kKept(0, 2, 0);      // 00:02.0, preserved
const Sid kOther(0, 3, 0);     // 00:03.0, shares its domain and context table, not preserved
const Sid kUpper(0, 0x10, 0);  // 00:10.0: devfn 0x80, the upper context table
constexpr Iova kIova = 0x1000;
constexpr uint8_t kRW = drv::kRead | drv::kWrite;

// One kernel: a flow and a driver on the machine.
struct Kernel {
  std::unique_ptr<drv::LuFlow> flow;
  std::unique_ptr<Driver> d;
  Kernel(sim::Machine& m, drv::Writer& w, const std::string& flow_name = "reference")
      : flow(drv::make_lu_flow(flow_name)), d(std::make_unique<Driver>(m.cpu0, w, flow.get())) {}
};

class LiveUpdate : public ::testing::TestWithParam<Platform> {
 protected:
  void SetUp() override {
    m = std::make_unique<sim::Machine>(GetParam().config());
    writer = drv::make_writer("entry-sync");
    old = std::make_unique<Kernel>(*m, *writer);
    ASSERT_EQ(old->d->init(), Status::Ok);
    for (Sid s : {kKept, kOther}) {
      m->iommu.device_plug(s, false);
      ASSERT_EQ(old->d->probe(s, {false, false}), Status::Ok);
    }
    ASSERT_EQ(old->d->domain_alloc(1, DomainType::SecondStage), Status::Ok);
    ASSERT_EQ(old->d->map(1, kIova, data_pa(1), sim::kPageSize, kRW), Status::Ok);
    for (Sid s : {kKept, kOther}) ASSERT_EQ(old->d->attach(s, 1), Status::Ok);
    ASSERT_EQ(dma(kKept).pa, data_pa(1));  // fills the caches
    ASSERT_EQ(dma(kOther).pa, data_pa(1));
  }
  sim::Translation dma(Sid s) {
    return m->iommu.dma({s, sim::kNoPasid, kIova, sim::Access::Read}).xlat;
  }
  void preserve() {
    ASSERT_EQ(old->d->preserve_domain(1), Status::Ok);
    ASSERT_EQ(old->d->preserve(kKept), Status::Ok);
  }
  // The old kernel's shutdown and the kexec; returns the KHO page.
  PhysAddr kexec() {
    PhysAddr kho = 0;
    EXPECT_EQ(old->d->shutdown(&kho), Status::Ok);
    m->cpu0.wmb();
    m->mem.kexec(kho);
    old.reset();
    return kho;
  }
  void restore(PhysAddr kho) {
    fresh = std::make_unique<Kernel>(*m, *writer);
    ASSERT_EQ(fresh->d->restore(kho), Status::Ok);
  }
  // The words of the RID's entry as the hardware reads them.
  std::vector<uint64_t> rid_entry(Sid s) {
    const Located l = locate(*m, s);
    std::vector<uint64_t> w;
    for (size_t i = 0; i < 8; ++i) w.push_back(m->mem.hw_load(l.entry + 8 * i));
    return w;
  }
  struct Located {
    PhysAddr context = 0, entry = 0;
  };
  Located locate(sim::Machine& mm, Sid s) {
    const PhysAddr root = mm.iommu.rtaddr() & ~(sim::kPageSize - 1);
    Located l;
    if (!GetParam().scalable) {
      l.context = l.entry =
          sim::page_of(mm.mem.hw_load(root + 16ull * s.bus())) + 16ull * s.devfn();
      return l;
    }
    l.context = sim::page_of(mm.mem.hw_load(root + 16ull * s.bus())) + 32ull * (s.devfn() & 0x7f);
    const PhysAddr dir = sim::page_of(mm.mem.hw_load(l.context));
    l.entry = sim::page_of(mm.mem.hw_load(dir));  // RID_PASID: PASID 0, table 0, entry 0
    return l;
  }

  std::unique_ptr<sim::Machine> m;
  std::unique_ptr<drv::Writer> writer;
  std::unique_ptr<Kernel> old, fresh;
};

TEST_P(LiveUpdate, PreservedDomain_RefusesMapUnmapAndFree) {
  preserve();
  EXPECT_EQ(old->d->map(1, 0x200000, data_pa(2), sim::kPageSize, kRW), Status::Busy);
  EXPECT_EQ(old->d->unmap(1, kIova, sim::kPageSize), Status::Busy);
  EXPECT_EQ(old->d->detach(kOther), Status::Ok);  // the other device may go
  EXPECT_EQ(old->d->domain_free(1), Status::Busy);
}

TEST_P(LiveUpdate, PreservedDevice_KeepsItsAttachment) {
  preserve();
  ASSERT_EQ(old->d->domain_alloc(2, DomainType::SecondStage), Status::Ok);
  EXPECT_EQ(old->d->replace(kKept, 2), Status::Busy);
  EXPECT_EQ(old->d->detach(kKept), Status::Busy);
  EXPECT_EQ(old->d->release(kKept), Status::Busy);
}

TEST_P(LiveUpdate, PreserveDevice_NeedsItsDomainPreserved) {
  EXPECT_EQ(old->d->preserve(kKept), Status::Inval);
  EXPECT_EQ(old->d->preserve_domain(1), Status::Ok);
  EXPECT_EQ(old->d->unpreserve_domain(1), Status::Ok);
  EXPECT_EQ(old->d->preserve_domain(1), Status::Ok);
  EXPECT_EQ(old->d->preserve(kKept), Status::Ok);
  EXPECT_EQ(old->d->unpreserve_domain(1), Status::Busy) << "a preserved device uses it";
}

// Seeds/004: the context tables are tracked, so an unpreserve drops only
// what no other preserved device uses.
TEST_P(LiveUpdate, Unpreserve_KeepsTablesAnotherPreservedDeviceUses) {
  preserve();
  ASSERT_EQ(old->d->preserve(kOther), Status::Ok);
  const PhysAddr table = sim::page_of(locate(*m, kKept).context);
  ASSERT_TRUE(m->mem.preserved(table));
  ASSERT_EQ(old->d->unpreserve(kOther), Status::Ok);
  EXPECT_TRUE(m->mem.preserved(table));
  ASSERT_EQ(old->d->unpreserve(kKept), Status::Ok);
  EXPECT_FALSE(m->mem.preserved(table));
}

TEST_P(LiveUpdate, Kexec_UnpreservedDeviceFaults) {
  preserve();
  kexec();
  EXPECT_FALSE(dma(kOther).ok()) << "its entry was cleared and the caches invalidated";
  EXPECT_EQ(dma(kKept).pa, data_pa(1));
}

// DMA never stops (seeds/002): through the shutdown, the dark window and
// the restore, translation stays on, the root table stays the one in use.
TEST_P(LiveUpdate, Kexec_PreservedDeviceKeepsTranslating) {
  preserve();
  const uint64_t root = m->iommu.rtaddr();
  const PhysAddr kho = kexec();
  EXPECT_TRUE(m->iommu.translating());
  EXPECT_EQ(dma(kKept).pa, data_pa(1));
  restore(kho);
  EXPECT_EQ(m->iommu.rtaddr(), root) << "the root table is taken over, not replaced";
  EXPECT_EQ(dma(kKept).pa, data_pa(1));
  ASSERT_EQ(fresh->d->probe(kKept, {false, false}), Status::Ok);
  EXPECT_EQ(dma(kKept).pa, data_pa(1));
}

TEST_P(LiveUpdate, Restore_EntryIsByteIdentical) {
  preserve();
  const std::vector<uint64_t> before = rid_entry(kKept);
  const uint16_t did = old->d->did_of(1);
  restore(kexec());
  ASSERT_EQ(fresh->d->probe(kKept, {false, false}), Status::Ok);
  EXPECT_EQ(rid_entry(kKept), before);
  EXPECT_EQ(fresh->d->did_of(1), did) << "the restored domain keeps its DID";
}

TEST_P(LiveUpdate, Restore_NoPreservedPageIsReused) {
  preserve();
  std::set<PhysAddr> kept;
  for (PhysAddr p = m->mem.layout().pool_base;
       p < m->mem.layout().pool_base + uint64_t(m->mem.layout().pool_pages) * sim::kPageSize;
       p += sim::kPageSize)
    if (m->mem.preserved(p)) kept.insert(p);
  ASSERT_FALSE(kept.empty());
  restore(kexec());
  // The new kernel allocates: a queue at restore, tables for new domains.
  for (DomainId id = 10; id < 40; ++id) {
    ASSERT_EQ(fresh->d->domain_alloc(id, DomainType::SecondStage), Status::Ok);
    ASSERT_EQ(fresh->d->map(id, Iova(id) << 30, data_pa(id), sim::kPageSize, kRW), Status::Ok);
  }
  for (PhysAddr p : kept) EXPECT_NE(m->mem.type(p), sim::PageType::Free) << sim::hex(p);
  EXPECT_EQ(dma(kKept).pa, data_pa(1));
}

TEST_P(LiveUpdate, Restore_ReclaimsPreservedDidsAtInit) {
  preserve();
  const uint16_t did = old->d->did_of(1);
  restore(kexec());
  // Before the preserved device is probed, a new domain must not get it.
  m->iommu.device_plug(kUpper, false);
  ASSERT_EQ(fresh->d->probe(kUpper, {false, false}), Status::Ok);
  ASSERT_EQ(fresh->d->domain_alloc(2, DomainType::SecondStage), Status::Ok);
  ASSERT_EQ(fresh->d->attach(kUpper, 2), Status::Ok);
  EXPECT_NE(fresh->d->did_of(2), did);
}

TEST_P(LiveUpdate, Probe_AttachesTheRestoredDomain) {
  preserve();
  restore(kexec());
  ASSERT_EQ(fresh->d->probe(kKept, {false, false}), Status::Ok);
  EXPECT_EQ(fresh->d->domain_free(1), Status::Busy) << "attached";
  EXPECT_EQ(fresh->d->map(1, 0x200000, data_pa(2), sim::kPageSize, kRW), Status::Busy);
  // User space replaces it with its own domain, then frees it.
  ASSERT_EQ(fresh->d->domain_alloc(2, DomainType::SecondStage), Status::Ok);
  ASSERT_EQ(fresh->d->map(2, kIova, data_pa(1), sim::kPageSize, kRW), Status::Ok);
  ASSERT_EQ(fresh->d->replace(kKept, 2), Status::Ok);
  EXPECT_EQ(fresh->d->domain_free(1), Status::Ok);
  EXPECT_EQ(dma(kKept).pa, data_pa(1));
}

TEST_P(LiveUpdate, Finish_ChangesNothing) {
  preserve();
  restore(kexec());
  ASSERT_EQ(fresh->d->probe(kKept, {false, false}), Status::Ok);
  const std::string books = fresh->d->dump();
  const std::vector<uint64_t> entry = rid_entry(kKept);
  const uint64_t stores = m->cpu0.stats().stores;
  EXPECT_EQ(fresh->d->finish(), Status::Ok);
  EXPECT_EQ(fresh->d->dump(), books);
  EXPECT_EQ(rid_entry(kKept), entry);
  EXPECT_EQ(m->cpu0.stats().stores, stores);
}

// No C++ object crosses the kexec: a kernel given no handover page
// restores nothing.
TEST_P(LiveUpdate, Restore_ReadsOnlyTheKhoPage) {
  preserve();
  kexec();
  Kernel k(*m, *writer);
  EXPECT_EQ(k.d->restore(0), Status::Inval);
}

INSTANTIATE_TEST_SUITE_P(
    Platforms, LiveUpdate,
    ::testing::Values(Platform{true, true, true, false}, Platform{true, false, false, false},
                      Platform{false, true, true, false}, Platform{false, true, false, true}),
    [](const ::testing::TestParamInfo<Platform>& i) { return i.param.name(); });

}  // namespace
}  // namespace vtd::drvtest
