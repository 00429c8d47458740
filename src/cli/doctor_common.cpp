#include "cli/doctor_common.hpp"

#include <iostream>

namespace tern::cli {

std::optional<Duration> parse_duration(const std::string& text) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  const std::string unit = text.substr(used);
  double scale = 1e9;
  if (unit == "ms") {
    scale = 1e6;
  } else if (unit == "m") {
    scale = 60e9;
  } else if (!unit.empty() && unit != "s") {
    return std::nullopt;
  }
  if (!(v > 0) || v * scale > 3600e9) return std::nullopt;
  return Duration(static_cast<int64_t>(v * scale));
}

std::optional<unsigned> parse_rate(std::string text) {
  if (text.ends_with("/s")) text.resize(text.size() - 2);
  if (text.empty() || text.size() > 5 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  const unsigned v = static_cast<unsigned>(std::stoul(text));
  if (v == 0 || v > 10000) return std::nullopt;
  return v;
}

doctor::Progress progress_printer(bool tty) {
  return [tty](std::string_view line) {
    if (tty) {
      std::cerr << "\r\033[K" << line << std::flush;
    } else {
      std::cerr << "tern doctor: " << line << "\n";
    }
  };
}

}  // namespace tern::cli
