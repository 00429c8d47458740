// The trivially-correct answer the PMTU search tests compare against: on a stable path the
// search ends at the largest step (kPmtudCandidates, or max_mtu) that the path carries.
#pragma once

#include <algorithm>
#include <cstddef>

#include "core/pmtud.hpp"

namespace tern::core::test {

inline size_t expected_mtu(size_t path_mtu, const PmtudConfig& cfg) {
  size_t best = cfg.base_mtu;
  for (size_t c : kPmtudCandidates) {
    if (c <= path_mtu && c <= cfg.max_mtu) best = std::max(best, c);
  }
  if (cfg.max_mtu <= path_mtu) best = std::max(best, cfg.max_mtu);
  return best;
}

}  // namespace tern::core::test
