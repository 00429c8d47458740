#include "core/outstanding_probes.hpp"

namespace tern::core {

void OutstandingProbes::add(const Entry& entry) {
  std::optional<Entry>* slot = nullptr;
  for (auto& e : entries_) {
    if (!e) {
      slot = &e;
      break;
    }
    if (!slot || e->expires < (*slot)->expires) slot = &e;
  }
  *slot = entry;
}

std::optional<OutstandingProbes::Entry> OutstandingProbes::take(const wire::ProbeTxId& tx_id,
                                                                Instant now) {
  for (auto& e : entries_) {
    if (!e || e->tx_id != tx_id) continue;
    std::optional<Entry> out;
    if (now < e->expires) out = e;
    e.reset();
    return out;
  }
  return std::nullopt;
}

void OutstandingProbes::expire(Instant now) {
  for (auto& e : entries_) {
    if (e && now >= e->expires) e.reset();
  }
}

void OutstandingProbes::remove_tag(uint64_t tag) {
  for (auto& e : entries_) {
    if (e && e->tag == tag) e.reset();
  }
}

size_t OutstandingProbes::size() const {
  size_t n = 0;
  for (const auto& e : entries_)
    n += e.has_value();
  return n;
}

std::optional<Instant> OutstandingProbes::next_expiry() const {
  std::optional<Instant> next;
  for (const auto& e : entries_) {
    if (e && (!next || e->expires < *next)) next = e->expires;
  }
  return next;
}

}  // namespace tern::core
