// The client's verbs, its timers and its transitions. Requests are built in
// turn_client_requests.cpp, answers handled in turn_client_responses.cpp,
// permissions and channels kept in turn_client_peers.cpp, data framed in
// turn_client_data.cpp.
#include "core/turn_client.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "wire/channel_data.hpp"
#include "wire/stun_fingerprint.hpp"

namespace tern::core {

Duration turn_refresh_margin(Duration lifetime) {
  const Duration minute = std::chrono::seconds(60);
  return std::max(lifetime / 5, std::min(lifetime / 2, minute));
}

TurnClient::TurnClient(TurnConfig config, Instant now)
    : config_(std::move(config)), auth_(config_.credentials), state_(Allocating{}) {
  send_request(Request::kAllocate, now);
}

void TurnClient::set_wall_clock(WallTime wall, Instant mono) {
  wall_offset_ns_ = wall.unix_ns - to_ns(mono);
}

std::optional<int64_t> TurnClient::local_unix(Instant now) const {
  if (!wall_offset_ns_) return std::nullopt;
  return (to_ns(now) + *wall_offset_ns_) / 1'000'000'000;
}

void TurnClient::close(Instant now) {
  if (std::holds_alternative<Closing>(state_) || std::holds_alternative<Closed>(state_) ||
      std::holds_alternative<Failed>(state_)) {
    return;
  }
  outstanding_.clear();
  reset_peers();
  // Without an answered challenge no allocation can exist on the server.
  if (!auth_.ready()) {
    state_ = Closed{};
    events_.push_back(TurnClosed{});
    return;
  }
  state_ = Closing{};
  send_request(Request::kClose, now);
}

TurnReceive TurnClient::handle_input(Bytes message, Instant now) {
  if (wire::is_channel_data(message)) return receive_channel_data(message);
  auto parsed = wire::StunMessage::parse(message);
  if (!parsed) {
    // Our transaction ID at the usual place: a broken answer, not somebody else's packet.
    if (auto* t = outstanding_with_id(message)) {
      note_unusable(
          *t, Unusable::kMalformed,
          fmt::format("an unreadable answer ({})", wire::stun_parse_error_name(parsed.error())));
    }
    return dropped(DropReason::kMalformed);
  }
  // FINGERPRINT is optional; when present it must be right (RFC 8489 §7.3).
  if (wire::check_fingerprint(*parsed) == wire::StunCheck::kInvalid) {
    if (auto* t = outstanding_with_id(message)) {
      note_unusable(*t, Unusable::kMalformed, "an answer with a wrong FINGERPRINT");
    }
    return dropped(DropReason::kMalformed);
  }
  switch (parsed->message_class()) {
    case wire::StunClass::kIndication:
      return receive_indication(*parsed);
    case wire::StunClass::kSuccess:
    case wire::StunClass::kError:
      return receive_response(*parsed, now);
    case wire::StunClass::kRequest:
      break;
  }
  return dropped(DropReason::kUnexpectedMessage);
}

void TurnClient::handle_wrong_source(Bytes message, const Endpoint& from) {
  if (auto* t = outstanding_with_id(message)) {
    note_unusable(
        *t, Unusable::kWrongSource,
        fmt::format("an answer from {}, not from the server's address", from.to_string()));
  }
}

void TurnClient::handle_timeout(Instant now) {
  // Retransmissions and timeouts, one transaction at a time: a timeout may start
  // new transactions or clear them all.
  for (bool again = true; again;) {
    again = false;
    for (size_t i = 0; i < outstanding_.size(); ++i) {
      auto deadline = outstanding_[i].timer.deadline();
      if (!deadline || *deadline > now) continue;
      const auto due = outstanding_[i].timer.poll(now);
      if (due == StunRetransmit::Due::kRetransmit) {
        transmits_.push_back(outstanding_[i].message);
      } else if (due == StunRetransmit::Due::kTimedOut) {
        Transaction t = std::move(outstanding_[i]);
        outstanding_.erase(outstanding_.begin() + static_cast<ptrdiff_t>(i));
        on_timeout(t, now);
        again = true;
        break;
      }
    }
  }

  auto* a = std::get_if<Allocated>(&state_);
  if (!a) return;
  if (now >= a->expires) {
    // No refresh got through before the lifetime ran out: the server has dropped it.
    const Duration waited = now - a->refresh_at;
    fail(turn_timeout_error(context(Request::kRefresh), waited));
    return;
  }
  const bool refreshing = std::any_of(outstanding_.begin(), outstanding_.end(),
                                      [](const auto& t) { return t.request == Request::kRefresh; });
  if (!refreshing && now >= a->refresh_at) send_request(Request::kRefresh, now);
  send_due_peer_requests(now);
}

std::optional<Instant> TurnClient::poll_timeout() const {
  std::optional<Instant> next;
  auto consider = [&next](std::optional<Instant> t) {
    if (t && (!next || *t < *next)) next = t;
  };
  for (const auto& t : outstanding_)
    consider(t.timer.deadline());
  if (const auto* a = std::get_if<Allocated>(&state_)) {
    const bool refreshing =
        std::any_of(outstanding_.begin(), outstanding_.end(),
                    [](const auto& t) { return t.request == Request::kRefresh; });
    if (!refreshing) consider(a->refresh_at);
    consider(a->expires);
    consider(next_peer_deadline());
  }
  return next;
}

std::optional<Bytes> TurnClient::poll_transmit() {
  if (transmits_.empty()) return std::nullopt;
  current_transmit_ = std::move(transmits_.front());
  transmits_.pop_front();
  return Bytes(current_transmit_);
}

std::optional<TurnEvent> TurnClient::poll_event() {
  if (events_.empty()) return std::nullopt;
  TurnEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void TurnClient::fail(TurnError error) {
  outstanding_.clear();
  reset_peers();
  events_.push_back(TurnFailed{error});
  state_ = Failed{std::move(error)};
}

void TurnClient::lose_allocation(TurnError error, Instant now) {
  error.message += "; tern allocates again, and the relayed address will change";
  events_.push_back(TurnAllocationLost{std::move(error)});
  outstanding_.clear();
  reset_peers();
  retired_channels_.clear();  // they belonged to the lost allocation
  state_ = Allocating{};
  send_request(Request::kAllocate, now);
}

void TurnClient::finish_close(std::string note) {
  outstanding_.clear();
  state_ = Closed{};
  events_.push_back(TurnClosed{std::move(note)});
}

std::string_view TurnClient::state_name() const {
  struct Name {
    std::string_view operator()(const Allocating&) const { return "allocating"; }
    std::string_view operator()(const Allocated&) const { return "allocated"; }
    std::string_view operator()(const Closing&) const { return "closing"; }
    std::string_view operator()(const Closed&) const { return "closed"; }
    std::string_view operator()(const Failed&) const { return "failed"; }
  };
  return std::visit(Name{}, state_);
}

bool TurnClient::is_allocated() const {
  return std::holds_alternative<Allocated>(state_);
}

std::optional<Endpoint> TurnClient::relayed_address() const {
  if (const auto* a = std::get_if<Allocated>(&state_)) return a->relayed;
  return std::nullopt;
}

std::optional<Endpoint> TurnClient::mapped_address() const {
  if (const auto* a = std::get_if<Allocated>(&state_)) return a->mapped;
  return std::nullopt;
}

std::optional<Instant> TurnClient::allocation_expires() const {
  if (const auto* a = std::get_if<Allocated>(&state_)) return a->expires;
  return std::nullopt;
}

const TurnError* TurnClient::failure() const {
  if (const auto* f = std::get_if<Failed>(&state_)) return &f->error;
  return nullptr;
}

}  // namespace tern::core
