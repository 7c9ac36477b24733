// Propagator bugs injected by hand, none of them in the catalog (B29-B37):
// each is the reference with one step changed, registered here as an
// out-of-tree propagator would be (VTDFUZZ_REGISTER_PROPAGATOR), and the
// viommu target's judge (oracle/viommu.h) must catch it with no help from
// the propagator: reference runs the same program clean.
#include <gtest/gtest.h>

#include "prog/program.h"
#include "targets/harness.h"
#include "vmm/propagators/reference.h"

namespace vtd::vmm {
namespace {

// The stage-1 flags are not passed on: seeds/003 vtd_create_fs_hwpt builds
// vtd.flags from SRE, WPE and EAFE; this one leaves them 0.
class FlagsDropped : public Reference {
 protected:
  bool bind_nested(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid,
                   const drv::S1Config& s1) override {
    drv::S1Config none = s1;
    none.flags = 0;
    return Reference::bind_nested(ctx, dev, pasid, none);
  }
};
VTDFUZZ_REGISTER_PROPAGATOR(FlagsDropped, "test-flags-dropped",
                            "injected: nested HWPT allocated without SRE/WPE/EAFE");

// The old nested HWPT is forgotten instead of destroyed (no
// iommufd_backend_free_id): a leak on every replace and unbind.
class NestedLeaked : public Reference {
 protected:
  void destroy_old(VmmCtx& ctx, const Key& k) override {
    (void)ctx;
    fs_hwpt_.erase(k);
  }
};
VTDFUZZ_REGISTER_PROPAGATOR(NestedLeaked, "test-nested-leaked",
                            "injected: the old nested HWPT is forgotten, never destroyed");

// A refused PGTT leaves the old binding in place and tells nobody (the
// "Invalid PGTT type" error set but the caller goes on as if bound).
class RefusedKept : public Reference {
 protected:
  bool refuse(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid) override {
    (void)ctx;
    (void)dev;
    (void)pasid;
    return true;
  }
};
VTDFUZZ_REGISTER_PROPAGATOR(RefusedKept, "test-refused-kept",
                            "injected: a refused PGTT keeps the old binding, no fault");

// The nesting parent goes with the guest's entry: a device left with no
// default HWPT for its requests without PASID (seeds/003: the parent lives
// as long as the device is assigned).
class ParentDestroyed : public Reference {
 protected:
  void unbind(VmmCtx& ctx, const AssignedDevice& dev, uint32_t pasid) override {
    Reference::unbind(ctx, dev, pasid);
    ctx.iommufd().destroy(dev.default_hwpt);
  }
};
VTDFUZZ_REGISTER_PROPAGATOR(ParentDestroyed, "test-parent-destroyed",
                            "injected: the nesting parent is destroyed on an unbind");

struct Injected {
  const char* propagator;
  oracle::Property property;
  const char* program;  // guest ops after the assign
};

const Injected kInjected[] = {
    {"test-flags-dropped", oracle::Property::P13,
     "g.entry dev=00:02.0 pgtt=first did=1 fsptptr=0x100000 flags=sre+wpe\n"
     "g.inv pasid-cache g=1 did=1 pasid=0\n"},
    {"test-nested-leaked", oracle::Property::P15,
     "g.entry dev=00:02.0 pgtt=first did=1 fsptptr=0x100000\n"
     "g.inv pasid-cache g=1 did=1 pasid=0\n"
     "g.entry dev=00:02.0 pgtt=first did=1 fsptptr=0x101000\n"
     "g.inv pasid-cache g=1 did=1 pasid=0\n"},
    {"test-parent-destroyed", oracle::Property::P15, "g.inv pasid-cache g=1 did=1 pasid=0\n"},
    {"test-refused-kept", oracle::Property::P13,
     "g.entry dev=00:02.0 pgtt=first did=1 fsptptr=0x100000\n"
     "g.inv pasid-cache g=1 did=1 pasid=0\n"
     "g.entry dev=00:02.0 pgtt=second did=1 fsptptr=0x100000\n"
     "g.inv pasid-cache g=1 did=1 pasid=0\n"},
};

class InjectedPropagator : public ::testing::TestWithParam<Injected> {
 protected:
  harness::Result run(const char* propagator) {
    prog::Program p;
    std::string err;
    const std::string text = std::string("writer -\nviommu reference\n") +
                             "config scalable coherent quantum=128 cpu128\n"
                             "assign host=00:02.0 guest=00:02.0\n"
                             "g.dmar on\n" +
                             GetParam().program;
    EXPECT_TRUE(prog::parse(text, &p, &err)) << err;
    harness::Options o;
    o.viommu = propagator;
    harness::Result r = harness::run(p, o);
    EXPECT_EQ(r.error, "");
    return r;
  }
};

TEST_P(InjectedPropagator, CaughtByTheJudge_ReferenceClean) {
  const harness::Result bad = run(GetParam().propagator);
  ASSERT_TRUE(bad.violated) << GetParam().propagator;
  EXPECT_EQ(bad.violation.property, GetParam().property) << harness::report(bad);
  RecordProperty("violation", harness::summary_line(bad));  // in --gtest_output=xml
  const harness::Result ref = run("reference");
  EXPECT_FALSE(ref.violated) << harness::report(ref);
}

INSTANTIATE_TEST_SUITE_P(Viommu, InjectedPropagator, ::testing::ValuesIn(kInjected),
                         [](const auto& i) {
                           std::string s = i.param.propagator;
                           for (char& c : s)
                             if (c == '-') c = '_';
                           return s;
                         });

}  // namespace
}  // namespace vtd::vmm
