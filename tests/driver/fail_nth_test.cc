// fail-nth sweep (DESIGN.md section 5, "Fault injection"): for every op
// kind, in a setup that reaches each of its allocation points, the n-th
// allocation fails for n = 1, 2, ... until the op succeeds. Every failing
// call returns -ENOMEM and leaves the driver's bookkeeping, the page pool,
// the DIDs and every table page (CPU and hardware view) exactly as they were.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <set>

#include "tests/driver/driver_test_util.h"

namespace vtd::drvtest {
namespace {

constexpr uint8_t kRW = drv::kRead | drv::kWrite;
const Sid kDev(0x10, 0, 0);  // alone on its bus: attaching it needs a context table
const Sid kPf(0x20, 0, 0);   // its VFs are on bus 0x21
const Sid kVf0(0x21, 0, 0);
constexpr uint32_t kPasidNewTable = 100;  // directory index 1: needs a PASID table

struct FailCase {
  std::string op;    // the op kind (probe, map, ...)
  std::string what;  // which of its allocation paths
  Platform platform;
  std::function<Status(Rig&)> setup;
  std::function<Status(Rig&)> op_call;
  std::string name() const { return op + "_" + what + "_" + platform.name(); }
};

void PrintTo(const FailCase& c, std::ostream* os) {
  *os << c.name();
}

Status all(std::initializer_list<Status> ss) {
  for (Status s : ss)
    if (!ok(s)) return s;
  return Status::Ok;
}

// Every case, on the platforms where the op exists.
std::vector<FailCase> fail_cases() {
  using DT = DomainType;
  std::vector<FailCase> v;
  const Platform sm{true, true, true, false};
  const Platform sm_nc{true, false, false, false};
  const Platform sm_cm{true, true, true, true};
  const Platform legacy{false, true, true, false};
  auto none = [](Rig&) { return Status::Ok; };
  auto add = [&](const std::string& op, const std::string& what, bool scalable_only,
                 std::function<Status(Rig&)> setup, std::function<Status(Rig&)> call) {
    for (const Platform& p : {sm, sm_nc, legacy})
      if (p.scalable || !scalable_only) v.push_back({op, what, p, setup, call});
  };
  auto dev = [](Rig& r) { return r.add_device(kDev, true, r.platform.scalable); };
  auto dom = [](DomainId id, DT t, int levels = 4) {
    return [=](Rig& r) {
      return all({r.d.domain_alloc(id, t, 0, levels),
                  r.d.map(id, 0x1000, data_pa(id), sim::kPageSize, kRW)});
    };
  };

  // Devices.
  add(
      "probe", "device", false,
      [](Rig& r) {
        r.m.iommu.device_plug(kDev, true);
        return Status::Ok;
      },
      [](Rig& r) {
        return r.d.probe(kDev, {true, r.platform.scalable});
      });
  add(
      "enable_vfs", "three", false,
      [](Rig& r) { return r.add_device(kPf, true, r.platform.scalable); },
      [](Rig& r) { return r.d.enable_vfs(kPf, 3); });
  auto pf_with_vfs = [dom](Rig& r) {
    const bool sm = r.platform.scalable;
    Status s = all({r.add_device(kPf, true, sm), r.d.enable_vfs(kPf, 2), dom(1, DT::SecondStage)(r),
                    r.d.attach(kPf, 1), r.d.attach(kVf0, 1)});
    if (ok(s) && sm) s = all({dom(3, DT::FirstStage)(r), r.d.set_pasid(kPf, kPasidNewTable, 3)});
    for (uint8_t i = 0; i < 2; ++i) r.m.iommu.device_plug(Sid(0x21, 0, i), true);
    return s;
  };
  add("release", "pf_with_vfs_and_pasids", false, pf_with_vfs,
      [](Rig& r) { return r.d.release(kPf); });
  add(
      "surprise_remove", "pf_with_vfs_and_pasids", false,
      [pf_with_vfs](Rig& r) {
        Status s = pf_with_vfs(r);
        r.m.iommu.device_unplug(kPf);
        r.m.iommu.device_unplug(kVf0);
        return s;
      },
      [](Rig& r) { return r.d.surprise_remove(kPf); });

  // Domains.
  const std::initializer_list<std::tuple<DT, int, bool>> kinds = {
      {DT::SecondStage, 4, false}, {DT::SecondStage, 5, false}, {DT::SecondStage, 3, false},
      {DT::FirstStage, 4, true},   {DT::FirstStage, 5, true},   {DT::Identity, 4, false},
      {DT::Blocking, 4, false},    {DT::Sva, 4, true}};
  for (auto [t, levels, sm_only] : kinds) {
    add("domain_alloc",
        std::string(drv::domain_type_name(t)) + "_" + std::to_string(levels) + "level", sm_only,
        none, [t = t, levels = levels](Rig& r) { return r.d.domain_alloc(7, t, 0, levels); });
  }
  add(
      "domain_alloc", "nested", true, [](Rig& r) { return r.d.domain_alloc(1, DT::SecondStage); },
      [](Rig& r) { return r.d.domain_alloc(7, DT::Nested, 1); });

  // Page tables.
  auto map_in = [](DomainId id, Iova iova, PhysAddr pa, uint64_t size) {
    return [=](Rig& r) { return r.d.map(id, iova, pa, size, kRW); };
  };
  auto empty = [](DT t, int levels) {
    return [=](Rig& r) { return r.d.domain_alloc(1, t, 0, levels); };
  };
  add("map", "4k_new_tables_4level", false, empty(DT::SecondStage, 4),
      map_in(1, 0x1000, data_pa(1), sim::kPageSize));
  add("map", "4k_new_tables_5level", false, empty(DT::SecondStage, 5),
      map_in(1, 0x1000, data_pa(1), sim::kPageSize));
  add("map", "4k_new_tables_first_stage", true, empty(DT::FirstStage, 4),
      map_in(1, 0x1000, data_pa(1), sim::kPageSize));
  add("map", "2m_new_tables", false, empty(DT::SecondStage, 4),
      map_in(1, 0x200000, 0x200000, 2ull << 20));
  add("map", "1g_new_table", false, empty(DT::SecondStage, 4),
      map_in(1, 1ull << 30, 1ull << 30, 1ull << 30));
  add("map", "4k_tables_exist", false, dom(1, DT::SecondStage),
      map_in(1, 0x2000, data_pa(2), sim::kPageSize));
  add(
      "map", "nested_preallocated", true,
      [dom](Rig& r) {
        return all({dom(1, DT::SecondStage)(r), r.d.domain_alloc(2, DT::Nested, 1)});
      },
      map_in(2, 0x3000, 0x40000000, sim::kPageSize));
  v.push_back({"map", "4k_attached_caching_mode", sm_cm,
               [dev, dom](Rig& r) {
                 return all({dev(r), dom(1, DT::SecondStage)(r), r.d.attach(kDev, 1)});
               },
               map_in(1, 0x40000000, data_pa(3), sim::kPageSize)});
  add("unmap", "empties_tables", false, dom(1, DT::SecondStage),
      [](Rig& r) { return r.d.unmap(1, 0x1000, sim::kPageSize); });

  // Attachment.
  add(
      "attach", "second_stage_new_bus", false,
      [dev, dom](Rig& r) {
        return all({dev(r), dom(1, DT::SecondStage)(r)});
      },
      [](Rig& r) { return r.d.attach(kDev, 1); });
  add(
      "attach", "identity_new_bus", false,
      [dev](Rig& r) {
        return all({dev(r), r.d.domain_alloc(1, DT::Identity)});
      },
      [](Rig& r) { return r.d.attach(kDev, 1); });
  add(
      "attach", "nested_new_bus", true,
      [dev, dom](Rig& r) {
        return all({dev(r), dom(1, DT::SecondStage)(r), r.d.domain_alloc(2, DT::Nested, 1)});
      },
      [](Rig& r) { return r.d.attach(kDev, 2); });
  add(
      "attach", "vf_new_bus", false,
      [dom](Rig& r) {
        r.m.iommu.device_plug(kVf0, true);
        return all({r.add_device(kPf, true, r.platform.scalable), r.d.enable_vfs(kPf, 1),
                    dom(1, DT::SecondStage)(r)});
      },
      [](Rig& r) { return r.d.attach(kVf0, 1); });
  add(
      "replace", "second_stage", false,
      [dev, dom](Rig& r) {
        return all(
            {dev(r), dom(1, DT::SecondStage)(r), dom(2, DT::SecondStage)(r), r.d.attach(kDev, 1)});
      },
      [](Rig& r) { return r.d.replace(kDev, 2); });
  add(
      "replace", "first_stage", true,
      [dev, dom](Rig& r) {
        return all(
            {dev(r), dom(1, DT::FirstStage)(r), dom(2, DT::FirstStage)(r), r.d.attach(kDev, 1)});
      },
      [](Rig& r) { return r.d.replace(kDev, 2); });
  add(
      "detach", "second_stage", false,
      [dev, dom](Rig& r) {
        return all({dev(r), dom(1, DT::SecondStage)(r), r.d.attach(kDev, 1)});
      },
      [](Rig& r) { return r.d.detach(kDev); });
  add(
      "set_pasid", "new_pasid_table", true,
      [dev, dom](Rig& r) {
        return all(
            {dev(r), dom(1, DT::SecondStage)(r), dom(2, DT::FirstStage)(r), r.d.attach(kDev, 1)});
      },
      [](Rig& r) { return r.d.set_pasid(kDev, kPasidNewTable, 2); });
  add(
      "set_pasid", "sva_new_bus", true,
      [dev](Rig& r) {
        return all({dev(r), r.d.domain_alloc(1, DT::Sva)});
      },
      [](Rig& r) { return r.d.set_pasid(kDev, r.d.sva_pasid(1), 1); });
  add(
      "set_pasid", "replace", true,
      [dev, dom](Rig& r) {
        return all({dev(r), dom(1, DT::FirstStage)(r), dom(2, DT::FirstStage)(r),
                    r.d.set_pasid(kDev, kPasidNewTable, 1)});
      },
      [](Rig& r) { return r.d.set_pasid(kDev, kPasidNewTable, 2); });
  add(
      "remove_pasid", "first_stage", true,
      [dev, dom](Rig& r) {
        return all({dev(r), dom(1, DT::FirstStage)(r), r.d.set_pasid(kDev, kPasidNewTable, 1)});
      },
      [](Rig& r) { return r.d.remove_pasid(kDev, kPasidNewTable); });
  return v;
}

// Sweeps n = 1, 2, ... for one case; returns the number of allocation
// points the op has (the n that first succeeds, minus one), -1 on failure.
int Sweep(const FailCase& c, const std::string& writer) {
  Rig r(c.platform, writer);
  EXPECT_EQ(r.init_status, Status::Ok);
  EXPECT_EQ(c.setup(r), Status::Ok) << "setup";
  if (::testing::Test::HasFailure()) return -1;
  for (uint32_t n = 1; n <= 64; ++n) {
    SCOPED_TRACE("fail_nth_alloc(" + std::to_string(n) + ")");
    const Snapshot before = take(r);
    r.d.fail_nth_alloc(n);
    const Status s = c.op_call(r);
    if (ok(s)) {
      EXPECT_EQ(r.d.allocs_in_last_call(), n - 1) << "allocation points of the successful call";
      return ::testing::Test::HasFailure() ? -1 : int(n - 1);
    }
    EXPECT_EQ(s, Status::NoMem) << drv::status_name(s);
    ExpectUnchanged(before, take(r));
    if (::testing::Test::HasFailure()) return -1;
  }
  ADD_FAILURE() << "the op never succeeded";
  return -1;
}

constexpr const char* kSweepWriter = "entry-sync-tempdid";  // the one that takes temporary DIDs

class FailNth : public ::testing::TestWithParam<FailCase> {};

TEST_P(FailNth, EveryFailedAllocationReturnsNoMemAndChangesNothing) {
  const int points = Sweep(GetParam(), kSweepWriter);
  RecordProperty("allocation_points", points);
}

INSTANTIATE_TEST_SUITE_P(Ops, FailNth, ::testing::ValuesIn(fail_cases()),
                         [](const ::testing::TestParamInfo<FailCase>& info) {
                           return param_name(info.param.name());
                         });

// The figure for the lead: allocation points covered across all ops (ctest
// runs each test in its own process, so the total is summed here).
TEST(FailNthSummary, CoversEveryAllocationPointOfEveryOpKind) {
  int total = 0;
  std::set<std::string> kinds;
  std::map<std::string, int> per_kind;
  const auto cases = fail_cases();
  for (const FailCase& c : cases) {
    SCOPED_TRACE(c.name());
    const int n = Sweep(c, kSweepWriter);
    ASSERT_GE(n, 0);
    total += n;
    kinds.insert(c.op);
    per_kind[c.op] += n;
  }
  for (const auto& [op, n] : per_kind)
    if (op != "unmap") EXPECT_GT(n, 0) << op << " has no allocation point covered";
  std::cout << "fail-nth: covered " << total << " allocation points across " << kinds.size()
            << " op kinds (" << cases.size() << " op/setup/platform cases)\n";
  for (const auto& [op, n] : per_kind) std::cout << "  " << op << ": " << n << "\n";
  RecordProperty("allocation_points", total);
  RecordProperty("op_kinds", int(kinds.size()));
  RecordProperty("cases", int(cases.size()));
}

}  // namespace
}  // namespace vtd::drvtest
