// `vtdfuzz-cli bench`: walks per second through a scalable-mode, 4-level
// second-stage mapping, with cold caches (every cache invalidated before
// each walk) and warm caches (IOTLB hit). Wall-clock timing lives here only:
// it is a figure, not a test.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include "simulator/machine.h"
#include "simulator/table_builder.h"
#include "tools/cli.h"
#include "tools/commands.h"

namespace vtd::tools {
namespace {

constexpr uint64_t kDefaultIterations = 200000;

double per_second(uint64_t n, std::chrono::steady_clock::duration d) {
  double s = std::chrono::duration<double>(d).count();
  return s > 0 ? double(n) / s : 0.0;
}

int bench(uint64_t iterations) {
  sim::Config cfg;
  cfg.scalable = true;
  sim::Machine m(cfg);
  sim::TableBuilder b(m);
  const sim::Sid sid(0, 2, 0);
  const uint16_t did = 2;
  const sim::Iova iova = 0x7f12345000ull;  // distinct index at every level
  const sim::PhysAddr pa = sim::data_page(7);
  sim::PageTables ss = b.new_tables(false, 4);
  b.map(ss, iova, pa);
  b.set_context(sid, sim::ScalableContextFields{});
  b.set_pasid_entry(sid, 0, sim::TableBuilder::pasid_fields(sim::kPgttSecond, did, &ss, nullptr));

  const sim::WalkRequest req{sid, sim::kNoPasid, iova, sim::Access::Read};
  sim::Caches& caches = m.iommu.caches();
  auto check = [&](const sim::Translation& t, bool want_iotlb) {
    if (!t.ok() || t.pa != pa || t.from_iotlb != want_iotlb)
      throw std::runtime_error(std::string("bench: unexpected translation (") +
                               sim::fault_reason_name(t.fault) + ")");
  };

  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  for (uint64_t i = 0; i < iterations; ++i) {
    caches.ctx_inv_global();
    caches.pasid_inv_global();
    caches.iotlb_inv(true, 0, sim::kNoPasid, sim::AddrRange{}, false);
    sim::Translation t = m.iommu.translate(req);
    if (i == 0) check(t, false);
  }
  auto cold = Clock::now() - t0;

  check(m.iommu.translate(req), true);  // the last cold walk filled the IOTLB
  t0 = Clock::now();
  for (uint64_t i = 0; i < iterations; ++i) {
    sim::Translation t = m.iommu.translate(req);
    if (i == 0) check(t, true);
  }
  auto warm = Clock::now() - t0;

  std::printf("walks/s cold %.0f  warm %.0f  (iterations %llu, 4-level second stage)\n",
              per_second(iterations, cold), per_second(iterations, warm),
              (unsigned long long)iterations);
  return 0;
}

}  // namespace

Run add_bench(CLI::App& app) {
  auto iterations = std::make_shared<uint64_t>(kDefaultIterations);
  CLI::App* sub = app.add_subcommand(
      "bench", "walks per second through a 4-level second-stage table, cold and warm caches");
  sub->add_option("--iterations,-n", *iterations,
                  "walks of each kind (default " + std::to_string(kDefaultIterations) + ")")
      ->type_name("N")
      ->check(positive_count());
  return [iterations] { return bench(*iterations); };
}

}  // namespace vtd::tools
