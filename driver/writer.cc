#include "driver/writer.h"

#include <algorithm>

namespace vtd::drv {

const char* status_name(Status s) {
  static constexpr struct {
    Status status;
    const char* name;
  } kNames[] = {
      {Status::Ok, "ok"},
      {Status::NoEnt, "-ENOENT"},
      {Status::OpNotSupp, "-EOPNOTSUPP"},
      {Status::Io, "-EIO"},
      {Status::NoMem, "-ENOMEM"},
      {Status::Busy, "-EBUSY"},
      {Status::Exist, "-EEXIST"},
      {Status::NoDev, "-ENODEV"},
      {Status::Inval, "-EINVAL"},
      {Status::TimedOut, "-ETIMEDOUT"},
  };
  for (const auto& n : kNames)
    if (n.status == s) return n.name;
  return "?";
}

void Writer::publish_table(WriterCtx& ctx, sim::PhysAddr slot, uint64_t value) {
  ctx.cpu().dma_wmb();  // the table's contents before the pointer to it
  ctx.cpu().write64_once(slot, value);
  ctx.flush_cpu_cache(slot, 8);
}

Status Writer::unmap_flush(WriterCtx& ctx, const UnmapFlush& f) {
  // IOTLB before device-TLB: a device refilling from a stale IOTLB entry
  // after its device-TLB was invalidated would keep the stale translation.
  std::vector<sim::Descriptor> batch = f.iotlb;
  batch.insert(batch.end(), f.devtlb.begin(), f.devtlb.end());
  Status s = ctx.submit(batch);
  // Page-table pages go back only after the paging-structure caches forgot them.
  for (sim::PhysAddr p : f.free_pages) ctx.free_page(p);
  return s;
}

std::vector<std::string_view> expected_list(std::string_view expect) {
  std::vector<std::string_view> out;
  if (expect == "clean") return out;
  for (size_t at = 0; at < expect.size();) {
    size_t bar = expect.find('|', at);
    if (bar == std::string_view::npos) bar = expect.size();
    if (bar > at) out.push_back(expect.substr(at, bar - at));
    at = bar + 1;
  }
  return out;
}

}  // namespace vtd::drv
