// The command line's shared pieces, on CLI11: the synopsis of a command as
// its options define it (the help and the README table show it), the help
// formatter, one-line errors, and the validators several commands use.
// Validators word their problem as the commands always did; CLI11 puts the
// option's name in front ("--time: needs a positive number ...").
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

namespace vtd::tools {

// "FILE... [--writer W]": a subcommand's arguments as its definition says:
// option groups (one of), positionals, required options, then the others.
std::string synopsis(const CLI::App& sub);

// Help in the project's shape: usage lines and the command list show
// synopses. Set on the top-level app before its subcommands are added.
std::shared_ptr<CLI::Formatter> help_formatter();
// The help of `app` (or of one of its subcommands) under the program name.
std::string help_text(const CLI::App& app, const std::string& program);

// The problem a failed parse names, as one line (without "vtdfuzz: "):
// structural errors (an unknown or missing argument) name the command and
// its synopsis, value errors the option and the value.
std::string error_line(const CLI::ParseError& e, const CLI::App& top);

// A registered writer ("unknown writer 'x' (see ./vtdfuzz writers)").
CLI::Validator writer_name();
// A number of seconds > 0.
CLI::Validator positive_seconds();
// A whole number in [lo, hi].
CLI::Validator int_range(long long lo, long long hi);
// A whole number > 0 (up to 2^64 - 1).
CLI::Validator positive_count();
// One of `values`: "takes context, pasid or all, not 'x'".
CLI::Validator one_of(std::vector<std::string> values);
// A path that exists ("no such directory '...'").
CLI::Validator existing_dir();

// --writer W on a command that runs programs.
CLI::Option* add_writer_option(CLI::App& sub, std::string& writer, const std::string& help);
// A registered vIOMMU propagator ("unknown propagator 'x' (see ./vtdfuzz
// propagators)").
CLI::Validator propagator_name();
// --viommu NAME: the propagator a vIOMMU program runs against.
CLI::Option* add_viommu_option(CLI::App& sub, std::string& viommu, const std::string& help);

// A registered live-update flow ("unknown live-update flow 'x' (see
// ./vtdfuzz flows)"), and --lu F on a command that runs programs.
CLI::Validator flow_name();
CLI::Option* add_lu_option(CLI::App& sub, std::string& lu, const std::string& help);

}  // namespace vtd::tools
