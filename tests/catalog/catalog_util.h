// Shared by the catalog suites: the source tree's corpus directories, read
// at test time.
#pragma once

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace vtd::catalogtest {

inline std::filesystem::path source_dir() {
  return VTDFUZZ_SOURCE_DIR;
}

// corpus/<sub> in the source tree.
inline std::filesystem::path corpus_dir(const std::string& sub) {
  return source_dir() / "corpus" / sub;
}

// Regular files under `dir` whose name ends in `ext`, sorted by name.
inline std::vector<std::filesystem::path> files_in(const std::filesystem::path& dir,
                                                   const std::string& ext) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ext) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The `# expect: <property> <writer>` line; empty fields when absent.
inline void read_expect(const std::string& text, std::string* property, std::string* writer) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const std::string key = "# expect:";
    if (line.compare(0, key.size(), key) != 0) continue;
    std::istringstream words(line.substr(key.size()));
    words >> *property >> *writer;
    return;
  }
}

// A gtest parameter name: [A-Za-z0-9_] only.
inline std::string identifier(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

}  // namespace vtd::catalogtest
