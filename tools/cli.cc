#include "tools/cli.h"

#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "driver/live_update.h"
#include "driver/writer.h"
#include "tools/process.h"
#include "vmm/propagator.h"

namespace vtd::tools {
namespace {

constexpr size_t kWidth = 100;  // .clang-format's, for the help too

// One option as the synopsis spells it: "--writer W", "--empty", "FILE...".
std::string option_usage(const CLI::Option& o) {
  if (o.get_positional())
    return o.get_name(true, false) + (o.get_items_expected_max() > 1 ? "..." : "");
  std::string s = o.get_name(false, false);
  if (o.get_type_size() != 0 && !o.get_type_name().empty()) s += " " + o.get_type_name();
  return s;
}

std::string bracket(const std::string& s, bool required) {
  return required ? s : "[" + s + "]";
}

// `text` in lines of at most kWidth columns, each indented by `indent`.
std::string wrap(const std::string& text, size_t indent) {
  std::istringstream in(text);
  std::string out, line, word;
  while (in >> word) {
    if (!line.empty() && indent + line.size() + 1 + word.size() > kWidth) {
      out += std::string(indent, ' ') + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) out += std::string(indent, ' ') + line + "\n";
  return out;
}

class Formatter : public CLI::Formatter {
 public:
  std::string make_usage(const CLI::App* app, std::string name) const override {
    if (!app->get_subcommands([](const CLI::App* s) { return !s->get_name().empty(); }).empty())
      return "usage: " + name + " <command> [args]  (" + name + " <command> --help: its options)\n";
    std::string s = synopsis(*app);
    return "usage: " + name + (s.empty() ? "" : " " + s) + "\n";
  }
  // Options: the description wrapped in its column.
  std::string make_option(const CLI::Option* opt, bool is_positional) const override {
    const size_t col = get_column_width();
    std::string left = "  " + make_option_name(opt, is_positional) + make_option_opts(opt);
    std::string desc = wrap(make_option_desc(opt), col);
    if (desc.empty()) return left + "\n";
    if (left.size() >= col) return left + "\n" + desc;
    return left + desc.substr(left.size());
  }
  // A type name that spells its own list ("W,...") needs no " ..." after it.
  std::string make_option_opts(const CLI::Option* opt) const override {
    std::string s = CLI::Formatter::make_option_opts(opt);
    const std::string more = " ...";
    if (opt->get_type_name().find(",...") != std::string::npos && s.size() >= more.size() &&
        s.compare(s.size() - more.size(), more.size(), more) == 0)
      s.erase(s.size() - more.size());
    return s;
  }
  // An option group (one of): its title, then its options.
  std::string make_expanded(const CLI::App* sub) const override {
    if (!sub->get_name().empty()) return CLI::Formatter::make_expanded(sub);
    std::string out = "\n" + sub->get_group() + ", " + sub->get_description() + ":\n";
    for (const CLI::Option* o : sub->get_options())
      if (o != sub->get_help_ptr() && !o->get_group().empty()) out += make_option(o, false);
    return out;
  }
  std::string make_description(const CLI::App* app) const override {
    return app->get_description().empty() ? "" : wrap(app->get_description(), 0);
  }
  // "  replay FILE... [--writer W]", then the description below it.
  std::string make_subcommand(const CLI::App* sub) const override {
    std::string s = synopsis(*sub);
    return "  " + sub->get_name() + (s.empty() ? "" : " " + s) + "\n" +
           wrap(sub->get_description(), 6);
  }
};

// "a, b or c"
std::string or_list(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? (i + 1 == v.size() ? " or " : ", ") : "") + v[i];
  return s;
}

bool is_structural(const CLI::ParseError& e) {
  return dynamic_cast<const CLI::ExtrasError*>(&e) || dynamic_cast<const CLI::RequiredError*>(&e) ||
         dynamic_cast<const CLI::ArgumentMismatch*>(&e) ||
         dynamic_cast<const CLI::InvalidError*>(&e) ||
         dynamic_cast<const CLI::ExcludesError*>(&e) || dynamic_cast<const CLI::RequiresError*>(&e);
}

}  // namespace

std::string synopsis(const CLI::App& sub) {
  std::vector<std::string> groups, positionals, required, optional;
  for (const CLI::App* g :
       sub.get_subcommands([](const CLI::App* s) { return s->get_name().empty(); })) {
    std::string alt;
    for (const CLI::Option* o : g->get_options())
      if (o != g->get_help_ptr() && !o->get_group().empty())
        alt += (alt.empty() ? "" : "|") + option_usage(*o);
    if (!alt.empty()) groups.push_back(bracket(alt, g->get_require_option_min() > 0));
  }
  for (const CLI::Option* o : sub.get_options()) {
    if (o == sub.get_help_ptr() || o->get_group().empty()) continue;
    if (o->get_positional())
      positionals.push_back(bracket(option_usage(*o), o->get_required()));
    else
      (o->get_required() ? required : optional)
          .push_back(bracket(option_usage(*o), o->get_required()));
  }
  std::string s;
  for (const auto* part : {&groups, &positionals, &required, &optional})
    for (const std::string& p : *part) s += (s.empty() ? "" : " ") + p;
  return s;
}

std::shared_ptr<CLI::Formatter> help_formatter() {
  auto f = std::make_shared<Formatter>();
  f->label("Positionals", "Arguments");
  return f;
}

std::string help_text(const CLI::App& app, const std::string& program) {
  return app.get_formatter()->make_help(&app, program, CLI::AppFormatMode::Normal);
}

std::string error_line(const CLI::ParseError& e, const CLI::App& top) {
  const std::vector<CLI::App*> parsed = top.get_subcommands();
  const CLI::App* cmd = parsed.empty() ? nullptr : parsed.front();
  std::string problem = e.what();
  if (dynamic_cast<const CLI::ExtrasError*>(&e)) {
    std::vector<std::string> extra = cmd ? cmd->remaining() : std::vector<std::string>{};
    if (extra.empty()) extra = top.remaining();
    if (!extra.empty()) {
      const std::string& a = extra.front();
      problem =
          (a.size() > 1 && a[0] == '-' ? "unknown option '" : "unexpected argument '") + a + "'";
    }
  }
  // "--writer: 1 required W missing" -> "--writer needs a value"
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) && problem.ends_with(" missing") &&
      problem.find(": ") != std::string::npos)
    problem = problem.substr(0, problem.find(": ")) + " needs a value";
  if (!cmd || !is_structural(e)) return problem;
  const std::string s = synopsis(*cmd);
  const std::string& name = cmd->get_name();
  return name + ": " + problem +
         (s.empty() ? " (" + name + " takes no arguments)" : " (usage: " + name + " " + s + ")");
}

CLI::Validator writer_name() {
  return CLI::Validator(
      [](std::string& w) -> std::string {
        if (drv::writer_info(w)) return "";
        return "unknown writer '" + w + "' (see ./vtdfuzz writers)";
      },
      "");
}

CLI::Validator flow_name() {
  return CLI::Validator(
      [](std::string& f) -> std::string {
        if (drv::lu_flow_info(f)) return "";
        return "unknown live-update flow '" + f + "' (see ./vtdfuzz flows)";
      },
      "");
}

CLI::Validator positive_seconds() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        char* end = nullptr;
        double s = std::strtod(v.c_str(), &end);
        if (v.empty() || *end || !(s > 0))
          return "needs a positive number of seconds, got '" + v + "'";
        return "";
      },
      "");
}

CLI::Validator int_range(long long lo, long long hi) {
  return CLI::Validator(
      [lo, hi](std::string& v) -> std::string {
        char* end = nullptr;
        errno = 0;
        long long n = std::strtoll(v.c_str(), &end, 10);
        if (v.empty() || *end || errno || n < lo || n > hi)
          return "needs " + std::to_string(lo) + ".." + std::to_string(hi) + ", got '" + v + "'";
        return "";
      },
      "");
}

CLI::Validator positive_count() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        char* end = nullptr;
        errno = 0;
        unsigned long long n = std::strtoull(v.c_str(), &end, 10);
        if (v.empty() || v[0] == '-' || *end || errno || n == 0)
          return "needs a positive whole number, got '" + v + "'";
        return "";
      },
      "");
}

CLI::Validator one_of(std::vector<std::string> values) {
  return CLI::Validator(
      [values](std::string& v) -> std::string {
        for (const std::string& x : values)
          if (v == x) return "";
        return "takes " + or_list(values) + ", not '" + v + "'";
      },
      "");
}

CLI::Validator existing_dir() {
  return CLI::Validator(
      [](std::string& d) -> std::string {
        return file_exists(d) ? "" : "no such directory '" + d + "'";
      },
      "");
}

CLI::Option* add_writer_option(CLI::App& sub, std::string& writer, const std::string& help) {
  return sub.add_option("--writer", writer, help)->type_name("W")->check(writer_name());
}

CLI::Option* add_lu_option(CLI::App& sub, std::string& lu, const std::string& help) {
  return sub.add_option("--lu", lu, help)->type_name("F")->check(flow_name());
}

CLI::Validator propagator_name() {
  return CLI::Validator(
      [](std::string& p) -> std::string {
        if (vmm::propagator_info(p)) return "";
        return "unknown propagator '" + p + "' (see ./vtdfuzz propagators)";
      },
      "");
}

CLI::Option* add_viommu_option(CLI::App& sub, std::string& viommu, const std::string& help) {
  return sub.add_option("--viommu", viommu, help)->type_name("NAME")->check(propagator_name());
}

}  // namespace vtd::tools
