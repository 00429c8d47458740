// What every `tern doctor` check shares on the command line: duration and rate
// arguments, and the progress line written to stderr while a check runs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/time.hpp"
#include "doctor/relay_check.hpp"

namespace tern::cli {

// "10s", "500ms", "2m", or a bare number of seconds; at most an hour.
std::optional<Duration> parse_duration(const std::string& text);

// "50/s" or "50": 1 to 10000 per second.
std::optional<unsigned> parse_rate(std::string text);

// A terminal gets one progress line rewritten in place; a log gets every line,
// prefixed so it reads on its own.
doctor::Progress progress_printer(bool tty);

}  // namespace tern::cli
