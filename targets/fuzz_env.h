// For the fuzz targets' LLVMFuzzerInitialize only (engine entry code, not a
// library): the writer under test comes from VTDFUZZ_WRITER, so one binary
// fuzzes any registered writer.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "driver/live_update.h"
#include "driver/writer.h"

namespace vtd::fuzz {

// The writer named by VTDFUZZ_WRITER (entry-sync when unset); an unknown
// name ends the process with exit code 2 before any input runs.
inline std::string writer_from_env() {
  const char* w = getenv("VTDFUZZ_WRITER");
  std::string name = w && *w ? w : "entry-sync";
  if (!drv::make_writer(name)) {
    fprintf(stderr, "vtdfuzz: unknown writer '%s' in VTDFUZZ_WRITER\n", name.c_str());
    exit(2);
  }
  return name;
}

// The live-update flow named by VTDFUZZ_LU (none when unset: a program's
// live-update ops then run the flow it names, or the reference flow); an
// unknown name ends the process with exit code 2 before any input runs.
inline std::string lu_from_env() {
  const char* f = getenv("VTDFUZZ_LU");
  std::string name = f ? f : "";
  if (!name.empty() && !drv::lu_flow_info(name)) {
    fprintf(stderr, "vtdfuzz: unknown live-update flow '%s' in VTDFUZZ_LU\n", name.c_str());
    exit(2);
  }
  return name;
}

}  // namespace vtd::fuzz
