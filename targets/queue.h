// The queue target (DESIGN.md section 9): raw and structured descriptors
// into the simulator's invalidation queue, judged against a reference of
// VTD-REFERENCE.md's descriptor table written apart from simulator/invq.cc.
// The thing under test here is the hardware model itself: the oracle's P4
// and P5 are only as good as the queue's notion of which cached lines a
// descriptor removes, so a descriptor that misses a line in its scope (or
// drops one outside it) is a finding, as is a head, error or wait-status
// that breaks spec 6.5.2.
//
// Input (every byte string is valid; missing bytes read as zero):
//   header  bit0 256-bit descriptors (IQA.DW), bit1 scalable mode,
//           bit2 a two-page queue (IQA.QS=1), bits 3..5 device i removed
//   records opcode % 6:
//     0 fill     cache kind (opcode / 6 % 5), then two bytes of tag fields
//     1 desc     six bytes: type and G, DID/PASID/SID choices, AM or data,
//                address, and an optional bit to flip (bit 7 set)
//     2 raw      16 (32 with DW) raw bytes
//     3 process  one byte: 1..4 descriptors, each checked on its own
//     4 recover  an IQE descriptor is overwritten by a wait (as Linux's
//                qi_check_fault does) and FSTS cleared
//     5 hotplug  one byte: a device goes away or comes back
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "oracle/scope.h"
#include "simulator/caches.h"
#include "simulator/invq.h"

namespace vtd::queue {

// The reference (oracle/scope.h): which lines a descriptor reaches.
using Line = oracle::CachedLine;
using oracle::lines_of;
using oracle::removes;

struct Finding {
  std::string rule;   // scope, head, error, wait, stopped
  std::string what;   // one line: the descriptor and what went wrong
  uint32_t step = 0;  // index of the checked descriptor in the run
  uint8_t type = 0, g = 0;
};

// Judges one executed descriptor from the caches before and after it:
// every line in its scope gone, every other line still there.
std::vector<Finding> check_scope(const sim::Descriptor& d, bool scalable,
                                 const std::vector<Line>& before, const std::vector<Line>& after);

struct Result {
  uint32_t descriptors = 0;  // checked steps
  uint32_t iqe = 0, ite = 0;
  uint32_t removed = 0;        // cached lines removed by invalidations
  std::vector<uint8_t> types;  // types of the descriptors the queue completed, in order
  std::vector<Finding> findings;
  bool violated() const { return !findings.empty(); }
};

Result run(std::span<const uint8_t> input);

// The input as readable lines (header, then one line per record), for a
// report.
std::string listing(std::span<const uint8_t> input);

uint64_t signature(const Finding& f);

}  // namespace vtd::queue
