// Small pieces shared by the SVG and HTML writers (tools/timeline.cc,
// tools/report_html.cc).
#pragma once

#include <string>
#include <string_view>

namespace vtd::tools {

// Text and attribute values escaped for XML (and so for HTML).
inline std::string xml_escape(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        // Control characters other than tab and newline are not XML.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t')
          o += '?';
        else
          o += c;
    }
  }
  return o;
}

}  // namespace vtd::tools
