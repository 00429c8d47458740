// The relayed echo: the client sends probes to the peer socket through its allocation, the
// peer socket echoes each one to the relayed address it came from, and the client gets it
// back through the relay. Then the largest probe that makes the same trip, with
// DONT-FRAGMENT on the relay's side where the relay honours it.
#include <cerrno>

#include <fmt/format.h>

#include "crypto/random.hpp"
#include "doctor/relay_probe.hpp"
#include "doctor/relay_run.hpp"
#include "io/clock.hpp"
#include "wire/stun_builder.hpp"

namespace tern::doctor {
namespace {

constexpr Duration kPeerSetupBudget = std::chrono::seconds(10);
constexpr size_t kMaxUdpPayload = 65507;
// A Send indication around the data: header 20, XOR-PEER-ADDRESS 8 (IPv4) or 20 (IPv6)
// plus its 4-byte header, DONT-FRAGMENT 4, the DATA attribute's header 4.
constexpr size_t send_overhead(bool v6) {
  return 20 + 4 + (v6 ? 20 : 8) + 4 + 4;
}
// The largest WireGuard message for a 1280-byte inner packet (IPv6's minimum MTU).
constexpr size_t kWireGuardFor1280 = 1280 + 32;

double ms(Duration d) {
  return static_cast<double>(d.count()) / 1e6;
}

// Echo what the relay delivers to the peer socket, counting it.
void start_echo(RelayRun& run) {
  const Endpoint relayed = *run.result.relayed;
  run.session.on_peer = [&run, relayed](const Endpoint& from, Bytes data, Instant) {
    if (from != relayed) return;
    ++run.peer_received;
    (void)run.session.send_from_peer(relayed, data);
  };
}

// Waits for the permission and the channel for the peer socket.
bool set_up_peer(RelayRun& run, bool& channel) {
  auto& r = run.result;
  bool permitted = false;
  std::optional<core::TurnError> refused;
  run.on_event = [&](const core::TurnEvent& e, Instant) {
    if (std::holds_alternative<core::TurnPermissionCreated>(e)) permitted = true;
    if (std::holds_alternative<core::TurnChannelBound>(e)) channel = true;
    if (auto* f = std::get_if<core::TurnPeerFailed>(&e)) refused = f->error;
  };
  run.client->add_peer(run.peer, io::monotonic_now());
  const Instant deadline = io::monotonic_now() + kPeerSetupBudget;
  while ((!permitted || !channel) && !refused && io::monotonic_now() < deadline) {
    if (!run.step(deadline)) break;
  }
  if (refused || !permitted) {
    r.round_trip = {
        CheckStatus::kFail,
        refused ? refused->message : "no answer to CreatePermission for " + run.peer.to_string(),
        "the server refuses to relay to this peer address: check its denied-peer-ip "
        "and allow-loopback-peers settings"};
    if (refused) r.error_kind = std::string(core::turn_error_kind_name(refused->kind));
    return false;
  }
  r.permission_lifetime = core::kPermissionLifetime;
  if (channel) r.channel_lifetime = core::kChannelLifetime;
  return true;
}

void judge_round_trip(RelayRun& run, const RoundTrip& t, uint64_t delivered) {
  auto& r = run.result;
  const auto& s = t.stats;
  const auto figures = fmt::format(
      "{} probes of {} bytes at {}/s: {} back, loss {:.1f} %, RTT min/avg/max "
      "{:.2f}/{:.2f}/{:.2f} ms, jitter {:.2f} ms ({})",
      s.sent, t.payload_size, t.rate_per_second, s.received, s.loss_percent(), ms(s.min), ms(s.avg),
      ms(s.max), ms(s.jitter), t.via_channel ? "ChannelData" : "Send indications");
  if (s.received == s.sent) {
    r.round_trip = {CheckStatus::kPass, figures, ""};
  } else if (delivered == 0) {
    r.round_trip = {CheckStatus::kFail,
                    fmt::format("{}; the relay delivered none of them to the peer socket at {}",
                                figures, run.peer.to_string()),
                    "the relay does not forward to this peer: check its peer policy "
                    "(denied-peer-ip, allow-loopback-peers) and its outbound firewall"};
  } else if (s.received == 0) {
    r.round_trip = {
        CheckStatus::kFail,
        fmt::format("{}; the peer got {} probes but its echoes to the relayed address {} never "
                    "came back: the relayed address is private or unreachable from the peer",
                    figures, delivered, r.relayed->to_string()),
        "coturn behind 1:1 NAT: set external-ip=PUBLIC/PRIVATE; and open the relay port range "
        "(min-port..max-port) to the internet"};
  } else if (s.loss_percent() < 5.0) {
    r.round_trip = {CheckStatus::kWarn, figures,
                    "some probes were lost: watch the server's load and its bandwidth limits "
                    "(coturn: max-bps, bps-capacity)"};
  } else {
    r.round_trip = {CheckStatus::kFail, figures,
                    "the relayed path loses packets: check the server's CPU, its bandwidth limits "
                    "(coturn: max-bps, bps-capacity) and the links to it"};
  }
}

// Sends one size probe as a Send indication (with DONT-FRAGMENT when asked) and waits for
// its echo. Returns whether it came back.
bool try_size(RelayRun& run, size_t size, bool df, uint64_t sequence, Duration wait,
              std::optional<uint64_t>& echoed, std::vector<uint8_t>& buffer) {
  wire::TransactionId id{};
  crypto::random_bytes(id);
  wire::StunBuilder b(buffer, wire::StunMethod::kSend, wire::StunClass::kIndication, id);
  b.add_xor_address(wire::StunAttr::kXorPeerAddress, run.peer);
  if (df) b.add_dont_fragment();
  auto data = b.reserve(wire::to_u16(wire::StunAttr::kData), size);
  if (!data || !b.ok()) return false;
  const Instant now = io::monotonic_now();
  write_probe(Probe{ProbeKind::kSize, sequence, now}, *data);
  echoed.reset();
  const int err = run.session.send_from_client(run.server, b.bytes());
  if (err != 0) return false;  // EMSGSIZE: larger than this host's own link
  const Instant deadline = now + wait;
  while (echoed != sequence && io::monotonic_now() < deadline) {
    if (!run.step(deadline)) return false;
  }
  return echoed == sequence;
}

}  // namespace

bool run_round_trip(RelayRun& run) {
  auto& r = run.result;
  const auto& o = run.options;
  bool channel = false;
  run.say(fmt::format("round trip: permission and channel for the peer socket {}",
                      run.peer.to_string()));
  if (!set_up_peer(run, channel)) return false;
  start_echo(run);

  const uint64_t count = std::max<uint64_t>(
      1, static_cast<uint64_t>(o.rate) * static_cast<uint64_t>(o.duration.count()) / 1'000'000'000);
  std::vector<std::optional<Duration>> rtts(count);
  uint64_t back = 0;
  run.on_data = [&](const Endpoint& from, Bytes data, Instant now) {
    if (from != run.peer) return;
    auto p = read_probe(data);
    if (!p || p->kind != ProbeKind::kRtt || p->sequence >= count || rtts[p->sequence]) return;
    rtts[p->sequence] = now - p->sent;
    ++back;
  };
  run.say(fmt::format("round trip: {} probes of {} bytes at {}/s through {}", count, o.size, o.rate,
                      r.relayed->to_string()));
  std::vector<uint8_t> buffer(core::kTurnSendHeadroom + o.size + core::kTurnSendTailroom);
  const Duration interval = std::chrono::nanoseconds(1'000'000'000 / std::max(1u, o.rate));
  const Instant start = io::monotonic_now();
  Instant next = start;
  uint64_t sent = 0;
  const uint64_t tick = std::max<uint64_t>(1, o.rate);  // progress once a second
  while (sent < count) {
    Instant now = io::monotonic_now();
    while (sent < count && now >= next) {
      write_probe(Probe{ProbeKind::kRtt, sent, now},
                  MutableBytes(buffer.data() + core::kTurnSendHeadroom, o.size));
      auto s = run.client->send_to(run.peer, buffer, o.size, now);
      if (s.ok()) (void)run.session.send_from_client(run.server, s.message);
      ++sent;
      next += interval;
      if (sent % tick == 0) {
        run.say(fmt::format("round trip: {}/{} sent, {} back", sent, count, back));
      }
    }
    if (sent < count && !run.step(next)) break;
  }
  // The stragglers: a few times the slowest RTT seen, within 1..3 s.
  Duration slowest{};
  for (const auto& t : rtts) {
    if (t) slowest = std::max(slowest, *t);
  }
  const Duration drain =
      std::clamp<Duration>(4 * slowest, std::chrono::seconds(1), std::chrono::seconds(3));
  const Instant until = io::monotonic_now() + drain;
  while (back < count && io::monotonic_now() < until) {
    if (!run.step(until)) break;
  }
  RoundTrip t;
  t.stats = compute_rtt_stats(rtts);
  t.rate_per_second = o.rate;
  t.payload_size = o.size;
  t.duration = o.duration;
  t.via_channel = channel;
  r.round_trip_figures = t;
  r.peer_delivered = run.peer_received;
  judge_round_trip(run, t, run.peer_received);
  return t.stats.received > 0;
}

void run_largest_packet(RelayRun& run) {
  auto& r = run.result;
  run.say("largest packet: searching with DONT-FRAGMENT");
  const Duration slowest = r.round_trip_figures ? r.round_trip_figures->stats.max : Duration{};
  const Duration wait =
      std::clamp<Duration>(4 * slowest, std::chrono::milliseconds(200), std::chrono::seconds(1));
  const Instant budget_end = io::monotonic_now() + run.options.largest_search_budget;
  std::optional<uint64_t> echoed;
  run.on_data = [&](const Endpoint& from, Bytes data, Instant) {
    if (from != run.peer) return;
    if (auto p = read_probe(data); p && p->kind == ProbeKind::kSize) echoed = p->sequence;
  };
  if (auto s = run.session.set_dont_fragment(true); !s) {
    r.largest_packet = {CheckStatus::kWarn, s.error().message, ""};
    return;
  }
  std::vector<uint8_t> buffer(kMaxUdpPayload + 64);
  uint64_t sequence = 0;
  auto attempt = [&](size_t size, bool df) {
    for (int i = 0; i < 2; ++i) {
      if (try_size(run, size, df, ++sequence, wait, echoed, buffer)) return true;
      if (io::monotonic_now() >= budget_end) break;
    }
    return false;
  };
  const bool v6 = run.peer.address.is_v6();
  bool df = true;
  size_t lo = kProbeHeaderSize;
  if (!attempt(lo, true)) {
    // A relay that does not know DONT-FRAGMENT discards the indication (RFC 8656 §11.2).
    df = false;
    if (!attempt(lo, false)) {
      r.largest_packet = {CheckStatus::kFail, "even the smallest probe did not come back",
                          "see the round trip above"};
      (void)run.session.set_dont_fragment(false);
      return;
    }
  }
  size_t hi = kMaxUdpPayload - send_overhead(v6) + 1;  // first size known (assumed) too big
  if (run.session.stream() != nullptr) {
    // Over UDP this host's own link stops oversized probes (EMSGSIZE); over a stream they reach
    // the relay, which cannot send them on, and coturn was seen to relay nothing more for the
    // allocation after such a failure. The peer could not echo them either: search below the
    // peer socket's own path MTU.
    if (auto mtu = run.session.path_mtu(run.server)) {
      hi = std::min(hi, *mtu - (v6 ? 48 : 28) + 1);
    }
  }
  while (hi - lo > 1 && io::monotonic_now() < budget_end) {
    const size_t mid = lo + (hi - lo) / 2;
    if (attempt(mid, df)) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  (void)run.session.set_dont_fragment(false);
  if (!run.session.stream_error().empty()) {
    r.largest_packet = {
        CheckStatus::kFail,
        fmt::format("the search stopped at {} bytes: {}", lo, run.session.stream_error()),
        "look at the server's log: it dropped the connection on a large message"};
    return;
  }
  const bool finished = hi - lo <= 1;
  r.largest = LargestPacket{lo, df, kMaxUdpPayload - send_overhead(v6)};
  std::string detail = fmt::format(
      "{} bytes of payload{} went to the peer and back through the relay{}{}", lo,
      finished ? "" : " (at least; the search ran out of time)", df ? " with DONT-FRAGMENT" : "",
      df ? "" : " (the relay ignores DONT-FRAGMENT, so it may have fragmented them)");
  if (lo < kWireGuardFor1280) {
    r.largest_packet = {CheckStatus::kWarn, detail,
                        fmt::format("a WireGuard packet carrying 1280 bytes needs {}: raise the "
                                    "MTU of the links to the relay, or tern lowers the overlay "
                                    "MTU on relayed paths",
                                    kWireGuardFor1280)};
  } else {
    r.largest_packet = {CheckStatus::kPass, detail, ""};
  }
}

}  // namespace tern::doctor
