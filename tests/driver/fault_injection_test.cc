// Fault injection and concurrency smoke through the iommu-core API
// (DESIGN.md section 5): surprise removal of ATS devices, injected queue
// errors (IQE/ITE/ICE) before ops that flush, failing calls that must leave
// nothing changed, and a second CPU running short ops at the preemption
// points of a replace.
#include <gtest/gtest.h>

#include <tuple>

#include "tests/driver/driver_test_util.h"

namespace vtd::drvtest {
namespace {

constexpr uint8_t kRW = drv::kRead | drv::kWrite;
constexpr Iova kIova = 0x1000;
constexpr uint32_t kPasid = 7;
const Sid kDev(0, 2, 0), kOther(0, 3, 0);
const Sid kPf(0x20, 0, 0), kVf0(0x21, 0, 0), kVf1(0x21, 0, 1);
constexpr DomainId kA = 1, kB = 2, kC = 3, kF = 4, kG = 5;

Status alloc_mapped(Rig& r, DomainId id, DomainType t, PhysAddr pa) {
  Status s = r.d.domain_alloc(id, t);
  return ok(s) ? r.d.map(id, kIova, pa, sim::kPageSize, kRW) : s;
}

std::string writer_name(const ::testing::TestParamInfo<std::string>& info) {
  return param_name(info.param);
}

// --------------------------------------------------------- surprise removal --

using SurpriseParam = std::tuple<std::string, bool>;  // writer, scalable

class SurpriseRemove : public ::testing::TestWithParam<SurpriseParam> {};

// The removed device (and its VFs) must get no device-TLB invalidation: it
// would never answer (ITE). A device still using the domain keeps getting
// its flushes.
TEST_P(SurpriseRemove, AtsDeviceGetsNoDevTlbInvalidationAndNoIte) {
  const auto& [writer, sm] = GetParam();
  Rig r(Platform{sm}, writer);
  ASSERT_EQ(r.init_status, Status::Ok);
  ASSERT_EQ(r.add_device(kPf, true, sm), Status::Ok);
  ASSERT_EQ(r.add_device(kOther, true, sm), Status::Ok);
  ASSERT_EQ(r.d.enable_vfs(kPf, 2), Status::Ok);
  for (Sid vf : {kVf0, kVf1}) r.m.iommu.device_plug(vf, true);
  ASSERT_EQ(alloc_mapped(r, kA, DomainType::SecondStage, data_pa(1)), Status::Ok);
  for (Sid s : {kPf, kVf0, kOther}) ASSERT_EQ(r.d.attach(s, kA), Status::Ok);
  if (sm) {
    ASSERT_EQ(alloc_mapped(r, kF, DomainType::FirstStage, data_pa(2)), Status::Ok);
    ASSERT_EQ(r.d.set_pasid(kPf, kPasid, kF), Status::Ok);
    ASSERT_TRUE(r.dma_read(kPf, kPasid, kIova).xlat.ok());
  }
  for (Sid s : {kPf, kVf0, kOther}) ASSERT_TRUE(r.dma_read(s, drv::kRidPasid, kIova).xlat.ok());
  ASSERT_GT(r.m.iommu.caches().size(sim::CacheKind::DevTlb), 0u);

  for (Sid s : {kPf, kVf0, kVf1}) r.m.iommu.device_unplug(s);
  r.tl.start();
  ASSERT_EQ(r.d.surprise_remove(kPf), Status::Ok);
  r.tl.stop();
  SCOPED_TRACE(r.tl.str());
  for (Sid s : {kPf, kVf0, kVf1}) EXPECT_FALSE(r.d.has_device(s)) << s.str();
  for (const Descriptor& d : r.tl.descriptors())
    if (is_devtlb(d)) EXPECT_EQ(desc_sid(d), kOther) << d.str();
  EXPECT_EQ(r.m.iommu.queue().fsts() & sim::fsts::ITE, 0u);
  EXPECT_EQ(r.tl.queue_errors(false), 0u);

  // The domain's remaining device still gets its device-TLB flushed.
  r.tl.start();
  ASSERT_EQ(r.d.unmap(kA, kIova, sim::kPageSize), Status::Ok);
  r.tl.stop();
  bool other_flushed = false;
  for (const Descriptor& d : r.tl.descriptors()) {
    if (!is_devtlb(d)) continue;
    EXPECT_EQ(desc_sid(d), kOther) << d.str();
    other_flushed |= desc_sid(d) == kOther;
  }
  EXPECT_TRUE(other_flushed);
  EXPECT_EQ(r.m.iommu.queue().fsts(), 0u);
  EXPECT_FALSE(r.dma_read(kOther, drv::kRidPasid, kIova).xlat.ok()) << "stale device-TLB";
}

INSTANTIATE_TEST_SUITE_P(Writers, SurpriseRemove,
                         ::testing::Combine(::testing::ValuesIn(main_writers()), ::testing::Bool()),
                         [](const ::testing::TestParamInfo<SurpriseParam>& info) {
                           return param_name(std::get<0>(info.param) +
                                             (std::get<1>(info.param) ? "_scalable" : "_legacy"));
                         });

// ------------------------------------------------------------ queue errors --

// Ops that flush, and what must be gone from the caches afterwards.
enum class FlushOp : uint8_t { ReplaceRid, DetachRid, ReplacePasid, RemovePasid, Unmap };
const char* flush_op_name(FlushOp o) {
  static const char* const kNames[] = {"replace_rid", "detach_rid", "replace_pasid", "remove_pasid",
                                       "unmap"};
  return kNames[size_t(o)];
}

using QueueParam = std::tuple<std::string, FlushOp>;

class QueueError : public ::testing::TestWithParam<QueueParam> {};

// An error injected into the first descriptor the op submits (IQE: the head
// stops on it; ITE/ICE: it is aborted) is survived: the driver resubmits once,
// the op completes, the error bits are cleared, and every cache that held the
// old translation is invalidated.
TEST_P(QueueError, OpCompletesAndCachesEndUpInvalidated) {
  const auto& [writer, op] = GetParam();
  for (uint64_t bit : {sim::fsts::IQE, sim::fsts::ITE, sim::fsts::ICE}) {
    SCOPED_TRACE(bit == sim::fsts::IQE ? "IQE" : bit == sim::fsts::ITE ? "ITE" : "ICE");
    Rig r(Platform{}, writer);
    ASSERT_EQ(r.init_status, Status::Ok);
    ASSERT_EQ(r.add_device(kDev, true, true), Status::Ok);
    ASSERT_EQ(alloc_mapped(r, kA, DomainType::SecondStage, data_pa(1)), Status::Ok);
    ASSERT_EQ(alloc_mapped(r, kB, DomainType::SecondStage, data_pa(2)), Status::Ok);
    ASSERT_EQ(alloc_mapped(r, kF, DomainType::FirstStage, data_pa(3)), Status::Ok);
    ASSERT_EQ(alloc_mapped(r, kG, DomainType::FirstStage, data_pa(4)), Status::Ok);
    ASSERT_EQ(r.d.attach(kDev, kA), Status::Ok);
    ASSERT_EQ(r.d.set_pasid(kDev, kPasid, kF), Status::Ok);
    ASSERT_TRUE(r.dma_read(kDev, drv::kRidPasid, kIova).xlat.ok());
    ASSERT_TRUE(r.dma_read(kDev, kPasid, kIova).xlat.ok());
    const bool on_pasid = op == FlushOp::ReplacePasid || op == FlushOp::RemovePasid;
    const uint32_t pasid = on_pasid ? kPasid : drv::kRidPasid;
    const uint16_t old_did = r.d.did_of(on_pasid ? kF : kA);

    r.m.iommu.inject_queue_error(bit);
    r.tl.start();
    Status s = Status::Inval;
    PhysAddr expect_pa = 0;  // 0: the DMA must fault
    switch (op) {
      case FlushOp::ReplaceRid:
        s = r.d.replace(kDev, kB), expect_pa = data_pa(2);
        break;
      case FlushOp::DetachRid:
        s = r.d.detach(kDev);
        break;
      case FlushOp::ReplacePasid:
        s = r.d.set_pasid(kDev, kPasid, kG), expect_pa = data_pa(4);
        break;
      case FlushOp::RemovePasid:
        s = r.d.remove_pasid(kDev, kPasid);
        break;
      case FlushOp::Unmap:
        s = r.d.unmap(kA, kIova, sim::kPageSize);
        break;
    }
    r.tl.stop();
    SCOPED_TRACE(r.tl.str());
    ASSERT_EQ(s, Status::Ok);
    EXPECT_EQ(r.tl.queue_errors(true), 1u) << "the injected error was raised";
    EXPECT_EQ(r.m.iommu.queue().fsts() & (sim::fsts::IQE | sim::fsts::ITE | sim::fsts::ICE), 0u);
    EXPECT_TRUE(r.m.iommu.queue().idle());

    const sim::Caches& c = r.m.iommu.caches();
    for (const auto& [k, t] : c.iotlb()) {
      if (op == FlushOp::Unmap)
        EXPECT_FALSE(k.did == old_did && k.base == kIova) << "IOTLB keeps the unmapped page";
      else
        EXPECT_NE(k.did, old_did) << "IOTLB keeps a translation of the old DID";
    }
    if (op != FlushOp::Unmap) {
      auto it = c.pasid().find({kDev.v, pasid});
      if (it != c.pasid().end())
        EXPECT_NE(it->second.did, old_did) << "PASID cache keeps the old entry";
    }
    for (const auto& [k, t] : c.devtlb())
      EXPECT_FALSE(k.sid == kDev.v && k.pasid == (on_pasid ? kPasid : sim::kNoPasid))
          << "device-TLB keeps a translation";
    const sim::DmaResult d = r.dma_read(kDev, pasid, kIova);
    if (expect_pa) {
      ASSERT_TRUE(d.xlat.ok()) << sim::fault_reason_name(d.xlat.fault);
      EXPECT_EQ(d.xlat.pa, expect_pa);
    } else {
      EXPECT_FALSE(d.xlat.ok()) << "translated to 0x" << std::hex << d.xlat.pa;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Writers, QueueError,
    ::testing::Combine(::testing::ValuesIn(main_writers()),
                       ::testing::Values(FlushOp::ReplaceRid, FlushOp::DetachRid,
                                         FlushOp::ReplacePasid, FlushOp::RemovePasid,
                                         FlushOp::Unmap)),
    [](const ::testing::TestParamInfo<QueueParam>& info) {
      return param_name(std::get<0>(info.param) + "_" + flush_op_name(std::get<1>(info.param)));
    });

class QueueErrorSeenByAnother : public ::testing::TestWithParam<std::string> {};

// An ITE/ICE aborts a descriptor of cpu0's replace; cpu1, flushing for an
// unmap while cpu0 waits, sees the error first and clears it. cpu0 must
// still learn its batch was aborted and resubmit it (Linux qi_check_fault
// marks every pending wait QI_ABORT; corpus/regress/R12): the old DID ends
// up flushed from the IOTLB and the context/PASID cache.
TEST_P(QueueErrorSeenByAnother, WaiterStillResubmitsItsAbortedBatch) {
  for (uint64_t bit : {sim::fsts::ITE, sim::fsts::ICE}) {
    SCOPED_TRACE(bit == sim::fsts::ITE ? "ITE" : "ICE");
    Rig r(Platform{}, GetParam());
    ASSERT_EQ(r.init_status, Status::Ok);
    ASSERT_EQ(r.add_device(kDev, true, true), Status::Ok);
    ASSERT_EQ(r.add_device(kOther, true), Status::Ok);
    ASSERT_EQ(alloc_mapped(r, kA, DomainType::SecondStage, data_pa(1)), Status::Ok);
    ASSERT_EQ(alloc_mapped(r, kB, DomainType::SecondStage, data_pa(2)), Status::Ok);
    ASSERT_EQ(alloc_mapped(r, kC, DomainType::SecondStage, data_pa(3)), Status::Ok);
    ASSERT_EQ(r.d.attach(kDev, kA), Status::Ok);
    ASSERT_EQ(r.d.attach(kOther, kC), Status::Ok);
    ASSERT_TRUE(r.dma_read(kDev, drv::kRidPasid, kIova).xlat.ok());
    ASSERT_TRUE(r.dma_read(kOther, drv::kRidPasid, kIova).xlat.ok());
    const uint16_t old_did = r.d.did_of(kA);

    r.m.iommu.inject_queue_error(bit);
    Status nested = Status::Inval;
    bool busy = false, ran = false;
    r.tl.on_preempt = [&](const sim::PreemptPoint& p) {
      if (ran || busy || p.cpu != 0 || p.kind != sim::PointKind::Wait) return;
      for (sim::LockId l : r.d.locks_for_map(kC))
        if (r.m.cpu0.holds(l)) return;
      busy = true;
      r.d.set_cpu(&r.m.cpu1);
      nested = r.d.unmap(kC, kIova, sim::kPageSize);
      r.d.set_cpu(&r.m.cpu0);
      busy = false, ran = true;
    };
    r.tl.start();
    const Status s = r.d.replace(kDev, kB);
    r.tl.stop();
    r.tl.on_preempt = nullptr;
    SCOPED_TRACE(r.tl.str());
    ASSERT_TRUE(ran) << "cpu0 never waited with the locks an unmap takes free";
    ASSERT_EQ(s, Status::Ok);
    ASSERT_EQ(nested, Status::Ok);
    EXPECT_EQ(r.tl.queue_errors(true), 1u) << "the injected error was raised";
    EXPECT_EQ(r.m.iommu.queue().fsts() & (sim::fsts::ITE | sim::fsts::ICE), 0u);
    const sim::Caches& c = r.m.iommu.caches();
    for (const auto& [k, t] : c.iotlb())
      EXPECT_NE(k.did, old_did) << "IOTLB keeps a translation of the old DID";
    auto it = c.pasid().find({kDev.v, drv::kRidPasid});
    if (it != c.pasid().end()) EXPECT_NE(it->second.did, old_did) << "PASID cache keeps it";
    const sim::DmaResult d = r.dma_read(kDev, drv::kRidPasid, kIova);
    ASSERT_TRUE(d.xlat.ok()) << sim::fault_reason_name(d.xlat.fault);
    EXPECT_EQ(d.xlat.pa, data_pa(2));
    EXPECT_FALSE(r.dma_read(kOther, drv::kRidPasid, kIova).xlat.ok()) << "unmapped";
  }
}

INSTANTIATE_TEST_SUITE_P(Writers, QueueErrorSeenByAnother, ::testing::ValuesIn(main_writers()),
                         writer_name);

// ------------------------------------------------- failures change nothing --

// Calls that fail for a reason other than memory also leave every table,
// page, DID and refcount as it was (driver.h: "when it fails, leaves every
// table, cache tag, DID and refcount as it was").
struct FailingCall {
  std::string name;
  Status expect;
  std::function<Status(Rig&)> call;
  std::function<Status(Rig&)> setup = [](Rig&) { return Status::Ok; };
};
void PrintTo(const FailingCall& c, std::ostream* os) {
  *os << c.name;
}

constexpr DomainId kNoSuchDomain = 99;

std::vector<FailingCall> failing_calls() {
  return {
      {"enable_vfs_vf_rid_taken", Status::Busy, [](Rig& r) { return r.d.enable_vfs(kPf, 2); },
       [](Rig& r) { return r.add_device(kVf1, false); }},  // VF 1's RID is already a device
      {"enable_vfs_twice", Status::Busy, [](Rig& r) { return r.d.enable_vfs(kPf, 1); },
       [](Rig& r) { return r.d.enable_vfs(kPf, 1); }},
      {"probe_twice", Status::Exist, [](Rig& r) { return r.d.probe(kDev, {}); }},
      {"attach_attached", Status::Busy, [](Rig& r) { return r.d.attach(kDev, kB); }},
      {"attach_sva", Status::Inval, [](Rig& r) { return r.d.attach(kOther, kC); }},
      {"attach_no_such_domain", Status::NoDev,
       [](Rig& r) { return r.d.attach(kOther, kNoSuchDomain); }},
      {"replace_unattached", Status::Inval, [](Rig& r) { return r.d.replace(kOther, kB); }},
      {"set_pasid_wrong_sva_pasid", Status::Inval,
       [](Rig& r) { return r.d.set_pasid(kDev, r.d.sva_pasid(kC) + 1, kC); }},
      {"set_pasid_out_of_range", Status::Inval,
       [](Rig& r) { return r.d.set_pasid(kDev, drv::kMaxPasid, kF); }},
      {"remove_pasid_not_set", Status::Inval, [](Rig& r) { return r.d.remove_pasid(kDev, 9); }},
      {"domain_alloc_exists", Status::Exist,
       [](Rig& r) { return r.d.domain_alloc(kA, DomainType::SecondStage); }},
      {"domain_free_in_use", Status::Busy, [](Rig& r) { return r.d.domain_free(kA); }},
      {"map_over_mapping", Status::Exist,
       [](Rig& r) { return r.d.map(kA, kIova, data_pa(9), sim::kPageSize, kRW); }},
      {"attach_surprise_removed", Status::NoDev, [](Rig& r) { return r.d.attach(kOther, kB); },
       [](Rig& r) {
         r.m.iommu.device_unplug(kOther);
         return r.d.surprise_remove(kOther);
       }},
  };
}

class FailedCall : public ::testing::TestWithParam<FailingCall> {};

TEST_P(FailedCall, LeavesNothingChanged) {
  Rig r(Platform{}, "entry-sync");
  ASSERT_EQ(r.init_status, Status::Ok);
  ASSERT_EQ(r.add_device(kDev, true), Status::Ok);
  ASSERT_EQ(r.add_device(kOther, true), Status::Ok);
  ASSERT_EQ(r.add_device(kPf, true), Status::Ok);
  ASSERT_EQ(alloc_mapped(r, kA, DomainType::SecondStage, data_pa(1)), Status::Ok);
  ASSERT_EQ(alloc_mapped(r, kB, DomainType::SecondStage, data_pa(2)), Status::Ok);
  ASSERT_EQ(r.d.domain_alloc(kC, DomainType::Sva), Status::Ok);
  ASSERT_EQ(alloc_mapped(r, kF, DomainType::FirstStage, data_pa(3)), Status::Ok);
  ASSERT_EQ(r.d.attach(kDev, kA), Status::Ok);
  const FailingCall& c = GetParam();
  ASSERT_EQ(c.setup(r), Status::Ok);
  const Snapshot before = take(r);
  const Status s = c.call(r);
  EXPECT_EQ(s, c.expect) << drv::status_name(s);
  ExpectUnchanged(before, take(r));
}

INSTANTIATE_TEST_SUITE_P(Calls, FailedCall, ::testing::ValuesIn(failing_calls()),
                         [](const ::testing::TestParamInfo<FailingCall>& info) {
                           return param_name(info.param.name);
                         });

// ------------------------------------------------------------- concurrency --

class Concurrency : public ::testing::TestWithParam<std::string> {};

// While cpu0 replaces a device's domain, cpu1 runs a map, an unmap and the
// attach of another device at the first preemption points where cpu0 holds
// none of the locks they take. Everything completes and ends consistent.
TEST_P(Concurrency, SecondCpuOpsAtPreemptionPointsOfReplace) {
  for (bool coherent : {true, false}) {
    SCOPED_TRACE(coherent ? "coherent" : "noncoherent");
    Rig r(Platform{true, true, coherent}, GetParam());
    ASSERT_EQ(r.init_status, Status::Ok);
    ASSERT_EQ(r.add_device(kDev, true), Status::Ok);
    ASSERT_EQ(r.add_device(kOther, true), Status::Ok);
    ASSERT_EQ(alloc_mapped(r, kA, DomainType::SecondStage, data_pa(1)), Status::Ok);
    ASSERT_EQ(alloc_mapped(r, kB, DomainType::FirstStage, data_pa(2)), Status::Ok);
    ASSERT_EQ(alloc_mapped(r, kC, DomainType::SecondStage, data_pa(3)), Status::Ok);
    ASSERT_EQ(r.d.attach(kDev, kA), Status::Ok);
    ASSERT_TRUE(r.dma_read(kDev, drv::kRidPasid, kIova).xlat.ok());

    struct Nested {
      const char* name;
      std::vector<sim::LockId> locks;
      std::function<Status()> call;
      Status result = Status::Inval;
      bool ran = false;
    };
    std::vector<Nested> ops = {
        {"map", r.d.locks_for_map(kC),
         [&] { return r.d.map(kC, 0x5000, data_pa(5), sim::kPageSize, kRW); }},
        {"unmap", r.d.locks_for_map(kC), [&] { return r.d.unmap(kC, kIova, sim::kPageSize); }},
        {"attach", r.d.locks_for_attach(kOther, kC), [&] { return r.d.attach(kOther, kC); }},
    };
    size_t next = 0;
    bool busy = false;
    r.tl.on_preempt = [&](const sim::PreemptPoint& p) {
      if (busy || p.cpu != 0 || next == ops.size()) return;
      for (sim::LockId l : ops[next].locks)
        if (r.m.cpu0.holds(l)) return;
      busy = true;
      r.d.set_cpu(&r.m.cpu1);
      ops[next].result = ops[next].call();
      ops[next].ran = true;
      r.d.set_cpu(&r.m.cpu0);
      busy = false;
      ++next;
    };
    ASSERT_EQ(r.d.replace(kDev, kB), Status::Ok);
    r.tl.on_preempt = nullptr;
    for (const Nested& n : ops) {
      EXPECT_TRUE(n.ran) << n.name << " found no preemption point";
      EXPECT_EQ(n.result, Status::Ok) << n.name;
    }
    EXPECT_EQ(r.m.cpu0.stats().illegal128 + r.m.cpu1.stats().illegal128, 0u);
    EXPECT_EQ(r.m.iommu.queue().fsts(), 0u);
    EXPECT_TRUE(r.m.cpu0.held_locks().empty());
    EXPECT_TRUE(r.m.cpu1.held_locks().empty());
    // Through the caches, then through memory.
    for (bool flushed : {false, true}) {
      SCOPED_TRACE(flushed ? "memory" : "caches");
      if (flushed) r.flush_caches();
      sim::DmaResult d = r.dma_read(kDev, drv::kRidPasid, kIova);
      ASSERT_TRUE(d.xlat.ok());
      EXPECT_EQ(d.xlat.pa, data_pa(2));
      d = r.dma_read(kOther, drv::kRidPasid, 0x5000);
      ASSERT_TRUE(d.xlat.ok());
      EXPECT_EQ(d.xlat.pa, data_pa(5));
      EXPECT_FALSE(r.dma_read(kOther, drv::kRidPasid, kIova).xlat.ok()) << "unmapped";
    }
    EXPECT_EQ(r.d.did_of(kA), 0u);
    EXPECT_NE(r.d.did_of(kB), r.d.did_of(kC));
  }
}

INSTANTIATE_TEST_SUITE_P(Writers, Concurrency, ::testing::ValuesIn(main_writers()), writer_name);

}  // namespace
}  // namespace vtd::drvtest

namespace vtd::drvtest {
namespace {

// An unmap on a domain with more cache tags than one queue batch holds
// (first-stage on many PASIDs of an ATS device: a PASID-based IOTLB and a
// PASID-based device-TLB invalidation each) still invalidates every tag.
class LargeFlush : public ::testing::TestWithParam<std::string> {};

TEST_P(LargeFlush, UnmapOnDomainWithManyPasidsInvalidatesEveryTag) {
  Rig r(Platform{}, GetParam());
  ASSERT_EQ(r.init_status, Status::Ok);
  ASSERT_EQ(r.add_device(kDev, true), Status::Ok);
  ASSERT_EQ(alloc_mapped(r, kF, DomainType::FirstStage, data_pa(1)), Status::Ok);
  constexpr uint32_t kPasids = 100;
  for (uint32_t p = 1; p <= kPasids; ++p) {
    ASSERT_EQ(r.d.set_pasid(kDev, p, kF), Status::Ok);
    ASSERT_TRUE(r.dma_read(kDev, p, kIova).xlat.ok());
  }
  ASSERT_EQ(r.d.unmap(kF, kIova, sim::kPageSize), Status::Ok);
  EXPECT_EQ(r.m.iommu.caches().size(sim::CacheKind::Iotlb), 0u);
  EXPECT_EQ(r.m.iommu.caches().size(sim::CacheKind::DevTlb), 0u);
  for (uint32_t p = 1; p <= kPasids; ++p)
    EXPECT_FALSE(r.dma_read(kDev, p, kIova).xlat.ok()) << "PASID " << p << " still translates";
}

INSTANTIATE_TEST_SUITE_P(Writers, LargeFlush, ::testing::ValuesIn(main_writers()), writer_name);

}  // namespace
}  // namespace vtd::drvtest
