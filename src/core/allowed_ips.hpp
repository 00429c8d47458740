// Cryptokey routing (WireGuard whitepaper, section 2): every peer owns a set of
// IP prefixes. An outbound packet goes to the peer owning the longest prefix that
// contains its destination; an inbound packet is accepted only when its source
// routes back to the peer it came from. A prefix belongs to one peer at a time:
// inserting it again moves it, as `wg set ... allowed-ips` does.
//
// One path-compressed binary trie per family, as the kernel's allowedips.c: a
// lookup visits one node per distinct prefix length on its path, compares masked
// 128-bit keys and allocates nothing. Nodes live in one vector and link by index.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "base/ip.hpp"

namespace tern::core {
namespace detail {

// An address as a 128-bit big-endian number; IPv4 fills the top 32 bits.
struct TrieKey {
  uint64_t hi = 0;
  uint64_t lo = 0;

  bool operator==(const TrieKey&) const = default;
  TrieKey operator&(const TrieKey& m) const { return {hi & m.hi, lo & m.lo}; }
};

inline uint64_t load_be64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | p[i];
  return v;
}

inline TrieKey trie_key(const IpAddress& a) {
  if (a.is_v4()) return {uint64_t{a.v4_host_order()} << 32, 0};
  return {load_be64(a.data()), load_be64(a.data() + 8)};
}

// Keeps the first `cidr` bits.
constexpr TrieKey make_prefix_mask(unsigned cidr) {
  auto ones = [](unsigned n) -> uint64_t {
    return n == 0 ? 0 : n >= 64 ? ~uint64_t{0} : ~uint64_t{0} << (64 - n);
  };
  return {ones(cidr), cidr > 64 ? ones(cidr - 64) : 0};
}

// A table, so that the lookup loop has no branch on the prefix length.
inline constexpr auto kPrefixMasks = [] {
  std::array<TrieKey, 129> masks{};
  for (unsigned i = 0; i <= 128; ++i)
    masks[i] = make_prefix_mask(i);
  return masks;
}();

inline const TrieKey& prefix_mask(unsigned cidr) {
  return kPrefixMasks[cidr];
}

// Bit `i` counted from the most significant (0..127).
inline unsigned bit_at(const TrieKey& k, unsigned i) {
  const uint64_t word = i < 64 ? k.hi : k.lo;
  return static_cast<unsigned>((word >> (63 - (i & 63))) & 1);
}

// Whether `key` lies inside prefix `node_key`/`cidr` (node_key already masked).
inline bool prefix_matches(const TrieKey& key, const TrieKey& node_key, unsigned cidr) {
  const TrieKey m = prefix_mask(cidr);
  return (((key.hi ^ node_key.hi) & m.hi) | ((key.lo ^ node_key.lo) & m.lo)) == 0;
}

inline unsigned common_bits(const TrieKey& a, const TrieKey& b) {
  if (uint64_t x = a.hi ^ b.hi) return static_cast<unsigned>(std::countl_zero(x));
  if (uint64_t x = a.lo ^ b.lo) return 64 + static_cast<unsigned>(std::countl_zero(x));
  return 128;
}

IpPrefix prefix_from_key(const TrieKey& key, uint8_t cidr, bool v4);

}  // namespace detail

template <class V>
class AllowedIps {
 public:
  // Routes `prefix` (host bits ignored) to `value`, taking it from any previous
  // owner. False, and nothing changes, for a length beyond the family's width.
  bool insert(const IpPrefix& prefix, const V& value);
  // Removes `prefix` if `owner` holds it (wg's "allowed_ip=-PREFIX").
  bool remove(const IpPrefix& prefix, const V& owner);
  // Removes every prefix routed to `value`.
  void remove(const V& value);
  void clear();

  // Longest-prefix match, nullptr when no prefix contains the address. The hot
  // path, called for every packet both ways; the pointer lives until the next change.
  const V* lookup(const IpAddress& address) const;

  // The prefixes of one owner, IPv4 then IPv6, each in address order (shorter
  // prefix first). Walks the whole table: for status and UAPI get, not packets.
  std::vector<IpPrefix> prefixes(const V& value) const;
  // fn(const IpPrefix&, const V&) for every entry, in the same order.
  template <class F>
  void for_each(F&& fn) const;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Nodes in use, branches included: at most 2 * size() - 1 when the trie is tidy.
  size_t node_count() const { return nodes_.size() - free_.size(); }

 private:
  static constexpr int32_t kNone = -1;

  // 32 bytes, two to a cache line: what a lookup touches, and no more. Values
  // live apart, in values_ at the same index.
  struct Node {
    detail::TrieKey key;  // masked to cidr
    int32_t child[2] = {kNone, kNone};
    int32_t parent = kNone;  // kNone: the root of its family's trie
    uint8_t cidr = 0;
    uint8_t parent_bit = 0;
    uint8_t family = 0;      // 0 IPv4, 1 IPv6
    bool has_value = false;  // false in the branch nodes the trie adds itself
  };

  static unsigned family_bits(uint8_t family) { return family == 0 ? 32 : 128; }

  int32_t allocate(const detail::TrieKey& key, uint8_t cidr, uint8_t family);
  void release(int32_t index);
  // Puts `child` (or nothing) where `parent`'s `bit` link, or the root, was.
  void attach(int32_t parent, unsigned bit, uint8_t family, int32_t child);
  void remove_node(int32_t index);
  template <class F>
  void walk(uint8_t family, F&& fn) const;

  std::vector<Node> nodes_;
  std::vector<std::optional<V>> values_;
  std::vector<int32_t> free_;
  int32_t root_[2] = {kNone, kNone};
  size_t size_ = 0;
};

template <class V>
int32_t AllowedIps<V>::allocate(const detail::TrieKey& key, uint8_t cidr, uint8_t family) {
  int32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<int32_t>(nodes_.size());
    nodes_.emplace_back();
    values_.emplace_back();
  }
  Node& n = nodes_[index];
  n = Node{};
  n.key = key & detail::prefix_mask(cidr);
  n.cidr = cidr;
  n.family = family;
  return index;
}

template <class V>
void AllowedIps<V>::release(int32_t index) {
  nodes_[index] = Node{};  // a free node never matches remove(value)
  values_[index].reset();
  free_.push_back(index);
}

template <class V>
void AllowedIps<V>::attach(int32_t parent, unsigned bit, uint8_t family, int32_t child) {
  if (parent == kNone) {
    root_[family] = child;
  } else {
    nodes_[parent].child[bit] = child;
  }
  if (child != kNone) {
    nodes_[child].parent = parent;
    nodes_[child].parent_bit = static_cast<uint8_t>(bit);
  }
}

template <class V>
bool AllowedIps<V>::insert(const IpPrefix& prefix, const V& value) {
  const uint8_t family = prefix.address.is_v4() ? 0 : 1;
  if (prefix.length > family_bits(family)) return false;
  const uint8_t cidr = prefix.length;
  const detail::TrieKey key = detail::trie_key(prefix.address) & detail::prefix_mask(cidr);

  // The deepest node whose prefix contains the new one.
  int32_t parent = kNone;
  for (int32_t i = root_[family]; i != kNone;) {
    const Node& n = nodes_[i];
    if (n.cidr > cidr || !detail::prefix_matches(key, n.key, n.cidr)) break;
    parent = i;
    if (n.cidr == cidr) {
      if (!n.has_value) ++size_;
      nodes_[i].has_value = true;
      values_[i] = value;  // the prefix changes owner
      return true;
    }
    i = n.child[detail::bit_at(key, n.cidr)];
  }

  const int32_t fresh = allocate(key, cidr, family);
  nodes_[fresh].has_value = true;
  values_[fresh] = value;
  ++size_;
  const unsigned parent_bit = parent == kNone ? 0 : detail::bit_at(key, nodes_[parent].cidr);
  const int32_t down = parent == kNone ? root_[family] : nodes_[parent].child[parent_bit];
  if (down == kNone) {
    attach(parent, parent_bit, family, fresh);
    return true;
  }
  // `down` does not lie inside the new prefix's parent path: either the new
  // prefix contains it, or the two split at their first differing bit.
  const unsigned common = std::min<unsigned>(cidr, detail::common_bits(nodes_[down].key, key));
  if (common == cidr) {
    attach(fresh, detail::bit_at(nodes_[down].key, cidr), family, down);
    attach(parent, parent_bit, family, fresh);
    return true;
  }
  const int32_t branch = allocate(key, static_cast<uint8_t>(common), family);
  attach(branch, detail::bit_at(nodes_[down].key, common), family, down);
  attach(branch, detail::bit_at(key, common), family, fresh);
  attach(parent, parent_bit, family, branch);
  return true;
}

template <class V>
void AllowedIps<V>::remove_node(int32_t index) {
  Node& n = nodes_[index];
  n.has_value = false;
  values_[index].reset();
  --size_;
  if (n.child[0] != kNone && n.child[1] != kNone) return;  // stays as a branch
  const int32_t child = n.child[0] != kNone ? n.child[0] : n.child[1];
  const int32_t parent = n.parent;
  const unsigned parent_bit = n.parent_bit;
  const uint8_t family = n.family;
  attach(parent, parent_bit, family, child);
  release(index);
  // A branch node left with one child is spliced out too: branches always have two.
  if (child != kNone || parent == kNone || nodes_[parent].has_value) return;
  const Node& p = nodes_[parent];
  attach(p.parent, p.parent_bit, family, p.child[parent_bit ^ 1]);
  release(parent);
}

template <class V>
bool AllowedIps<V>::remove(const IpPrefix& prefix, const V& owner) {
  const uint8_t family = prefix.address.is_v4() ? 0 : 1;
  if (prefix.length > family_bits(family)) return false;
  const detail::TrieKey key = detail::trie_key(prefix.address) & detail::prefix_mask(prefix.length);
  for (int32_t i = root_[family]; i != kNone;) {
    const Node& n = nodes_[i];
    if (n.cidr > prefix.length || !detail::prefix_matches(key, n.key, n.cidr)) return false;
    if (n.cidr == prefix.length) {
      if (!n.has_value || !(*values_[i] == owner)) return false;
      remove_node(i);
      return true;
    }
    i = n.child[detail::bit_at(key, n.cidr)];
  }
  return false;
}

template <class V>
void AllowedIps<V>::remove(const V& value) {
  std::vector<int32_t> owned;
  for (size_t i = 0; i < values_.size(); ++i) {
    if (values_[i] && *values_[i] == value) owned.push_back(static_cast<int32_t>(i));
  }
  // Removing a node frees at most itself and a branch parent, which owns nothing.
  for (int32_t i : owned)
    remove_node(i);
}

template <class V>
void AllowedIps<V>::clear() {
  nodes_.clear();
  values_.clear();
  free_.clear();
  root_[0] = root_[1] = kNone;
  size_ = 0;
}

template <class V>
const V* AllowedIps<V>::lookup(const IpAddress& address) const {
  const uint8_t family = address.is_v4() ? 0 : 1;
  const unsigned bits = family_bits(family);
  const detail::TrieKey key = detail::trie_key(address);
  int32_t found = kNone;
  for (int32_t i = root_[family]; i != kNone;) {
    const Node& n = nodes_[i];
    if (!detail::prefix_matches(key, n.key, n.cidr)) break;
    if (n.has_value) found = i;
    if (n.cidr == bits) break;
    i = n.child[detail::bit_at(key, n.cidr)];
  }
  return found == kNone ? nullptr : &*values_[found];
}

template <class V>
template <class F>
void AllowedIps<V>::walk(uint8_t family, F&& fn) const {
  // Pre-order, child 0 before child 1: address order, shorter prefix first.
  std::vector<int32_t> stack;
  if (root_[family] != kNone) stack.push_back(root_[family]);
  while (!stack.empty()) {
    const int32_t i = stack.back();
    const Node& n = nodes_[i];
    stack.pop_back();
    if (n.has_value) fn(n, *values_[i]);
    if (n.child[1] != kNone) stack.push_back(n.child[1]);
    if (n.child[0] != kNone) stack.push_back(n.child[0]);
  }
}

template <class V>
template <class F>
void AllowedIps<V>::for_each(F&& fn) const {
  for (uint8_t family : {uint8_t{0}, uint8_t{1}}) {
    walk(family, [&](const Node& n, const V& v) {
      fn(detail::prefix_from_key(n.key, n.cidr, family == 0), v);
    });
  }
}

template <class V>
std::vector<IpPrefix> AllowedIps<V>::prefixes(const V& value) const {
  std::vector<IpPrefix> out;
  for (uint8_t family : {uint8_t{0}, uint8_t{1}}) {
    walk(family, [&](const Node& n, const V& v) {
      if (v == value) out.push_back(detail::prefix_from_key(n.key, n.cidr, family == 0));
    });
  }
  return out;
}

}  // namespace tern::core
