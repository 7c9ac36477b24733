// render_sample_report ROOT OUT.html: the sample campaign report
// (sample_report.h) as report.html, for the browser test to look at.
#include <cstdio>
#include <fstream>

#include "tests/tools/sample_report.h"
#include "tools/report_html.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: render_sample_report ROOT OUT.html\n");
    return 2;
  }
  std::ofstream out(argv[2], std::ios::binary);
  out << vtd::tools::report_html(vtd::testing::sample_report_json(argv[1]));
  return out ? 0 : 1;
}
