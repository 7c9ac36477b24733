// For the fuzz targets only (engine entry code, not a library): the writer
// under test comes from VTDFUZZ_WRITER and the propagator from
// VTDFUZZ_VIOMMU, so one binary fuzzes any of them; what a violation does
// (stop the engine, be passed over, be kept) is the same for every target.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "driver/live_update.h"
#include "driver/writer.h"
#include "targets/harness.h"
#include "vmm/propagator.h"

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

// The propagator named by VTDFUZZ_VIOMMU (reference when unset); likewise.
inline std::string propagator_from_env() {
  const char* v = getenv("VTDFUZZ_VIOMMU");
  std::string name = v && *v ? v : "reference";
  if (!vmm::make_propagator(name)) {
    fprintf(stderr, "vtdfuzz: unknown propagator '%s' in VTDFUZZ_VIOMMU\n", name.c_str());
    exit(2);
  }
  return name;
}

// A violation, as every target handles it. By default it prints one summary
// line and aborts so the engine keeps the input. With VTDFUZZ_PROPERTY=Pn
// (`hunt --property`; or several, "P4|P2": `timetobug`, campaign rows),
// violations of other properties are reported once per signature and
// fuzzing goes on. With VTDFUZZ_FINDINGS=DIR (`campaign`) nothing aborts:
// the first input of each signature is written to DIR/<property>-<signature>,
// one line says so ("vtdfuzz: found PATH VIOLATION ..."), and fuzzing goes
// on, so one engine process runs a whole campaign row without libFuzzer's
// fork mode (which replays the corpus in every job).
class Violations {
 public:
  Violations() {
    const char* prop = getenv("VTDFUZZ_PROPERTY");
    property_ = prop ? prop : "";
    const char* findings = getenv("VTDFUZZ_FINDINGS");
    findings_ = findings ? findings : "";
  }

  // Returns (0, for LLVMFuzzerTestOneInput) unless the engine must stop.
  int on(const harness::Result& r, const uint8_t* data, size_t size) {
    if (!r.violated) return 0;
    const std::string line = harness::summary_line(r);
    const std::string what = line.substr(line.find("VIOLATION"));
    if (!findings_.empty()) {
      if (reported_.insert(r.violation.signature).second) keep(r, what, data, size);
      return 0;
    }
    if (!property_.empty() && !wanted(oracle::property_name(r.violation.property))) {
      if (reported_.insert(r.violation.signature).second)
        fprintf(stderr, "vtdfuzz: passed over (not %s) %s\n", property_.c_str(), what.c_str());
      return 0;
    }
    fprintf(stderr, "%s\n", line.c_str());
    abort();
  }

 private:
  bool wanted(const std::string& p) const {
    return ("|" + property_ + "|").find("|" + p + "|") != std::string::npos;
  }

  // O_EXCL: another process of the same campaign (--jobs) may have kept it first.
  void keep(const harness::Result& r, const std::string& what, const uint8_t* data, size_t size) {
    char name[64];
    snprintf(name, sizeof name, "/%s-%016" PRIx64, oracle::property_name(r.violation.property),
             r.violation.signature);
    const std::string path = findings_ + name;
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return;
    bool ok = write(fd, data, size) == ssize_t(size);
    close(fd);
    if (ok) fprintf(stderr, "vtdfuzz: found %s %s\n", path.c_str(), what.c_str());
  }

  std::string property_;         // empty: every violation stops the engine
  std::string findings_;         // set: no violation stops the engine
  std::set<uint64_t> reported_;  // signatures already reported (passed over or found)
};

}  // namespace vtd::fuzz
