// The campaign's report as one HTML page (out/campaign/report.html), drawn
// from report.json's text, the data report.md and report.json are written
// from: the writer x property matrix as a coloured table (what the writer
// declares against what was found), exec/s and coverage per row, the time
// to the first violation as a bar chart, and per finding its minimized
// program, its one-line verdict and its timeline (tools/timeline.h) inline.
// One file that opens from disk: no scripts, no network, no external fonts.
// The markup is well-formed XML as well as HTML. Same input, same bytes.
#pragma once

#include <string>
#include <string_view>

namespace vtd::tools {

// A page that says what is wrong when `report_json` is not a report.
std::string report_html(std::string_view report_json);

}  // namespace vtd::tools
