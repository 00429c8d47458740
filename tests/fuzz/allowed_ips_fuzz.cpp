// Fuzzes the allowed-IPs trie against a linear scan: the input is a program of
// inserts, removals and lookups on both families; any disagreement aborts.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

#include "core/allowed_ips.hpp"

using namespace tern;

namespace {

struct Reader {
  const uint8_t* p;
  size_t n;
  bool more() const { return n > 0; }
  uint8_t byte() {
    if (!n) return 0;
    --n;
    return *p++;
  }
};

// Few distinct leading bytes, so that prefixes nest and collide.
IpAddress address(Reader& r, bool v4) {
  std::array<uint8_t, 16> b{};
  uint8_t shape = r.byte();
  size_t len = v4 ? 4 : 16;
  for (size_t i = 0; i < len; ++i)
    b[i] = (i < (shape & 7)) ? static_cast<uint8_t>(r.byte() & 0xc3) : 0;
  if (v4) return IpAddress::v4({b[0], b[1], b[2], b[3]});
  return IpAddress::v6(b);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader r{data, size};
  core::AllowedIps<uint8_t> table;
  std::vector<std::pair<IpPrefix, uint8_t>> ref;
  while (r.more()) {
    uint8_t op = r.byte();
    bool v4 = op & 1;
    IpAddress a = address(r, v4);
    uint8_t len = static_cast<uint8_t>(r.byte() % (a.bits() + 1));
    uint8_t peer = r.byte() % 4;
    IpPrefix p = IpPrefix{a, len}.masked();
    switch ((op >> 1) % 4) {
      case 0: {
        table.insert(p, peer);
        bool found = false;
        for (auto& e : ref) {
          if (e.first == p) {
            e.second = peer;
            found = true;
          }
        }
        if (!found) ref.emplace_back(p, peer);
        break;
      }
      case 1: {
        table.remove(peer);
        std::erase_if(ref, [&](const auto& e) { return e.second == peer; });
        break;
      }
      case 2: {
        bool removed = table.remove(p, peer);
        auto before = ref.size();
        std::erase_if(ref, [&](const auto& e) { return e.first == p && e.second == peer; });
        if (removed != (ref.size() != before)) std::abort();
        break;
      }
      default: {
        std::optional<uint8_t> want;
        int best = -1;
        for (const auto& [q, v] : ref) {
          if (q.contains(a) && q.length > best) {
            best = q.length;
            want = v;
          }
        }
        const uint8_t* got = table.lookup(a);
        if ((got == nullptr) != !want || (got && *got != *want)) std::abort();
      }
    }
    if (table.size() != ref.size() || table.node_count() > 2 * table.size()) std::abort();
  }
  return 0;
}
