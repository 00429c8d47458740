// Helpers shared by the STUN/TURN codec tests: published vectors from
// tests/vectors/ (hex text, '#' comments) and small message makers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "crypto/hex_util.hpp"

namespace tern::test {

// tests/vectors/<relative>, found from this header's own path.
inline std::vector<uint8_t> load_vector(std::string_view relative) {
  const auto path =
      std::filesystem::path(__FILE__).parent_path() / "../../vectors" / std::string(relative);
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open test vector " + path.string());
  std::string hex_digits, line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find('#'));
    for (char c : line) {
      if (c != ' ' && c != '\t' && c != '\r') hex_digits.push_back(c);
    }
  }
  return unhex(hex_digits);
}

inline Bytes text_bytes(std::string_view s) {
  return Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace tern::test
