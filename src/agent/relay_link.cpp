// The agent's allocation and the framing of relayed peers. Nothing here allocates per packet:
// messages are framed in the data path's own buffers and sent in one batch per wakeup.
#include "agent/relay_link.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>

#include <fmt/core.h>

#include "agent/agent_state.hpp"
#include "agent/resolve.hpp"
#include "base/log.hpp"
#include "core/turn_credentials.hpp"
#include "io/clock.hpp"

namespace tern::agent {
namespace {

// A failed allocation (wrong credentials, server gone) is tried again this long after.
constexpr Duration kRetryAfterFailure = std::chrono::seconds(30);
// TURN REST usernames made from Secret are valid this long; a new allocation makes new ones.
constexpr int64_t kRestValiditySeconds = 7 * 24 * 3600;

}  // namespace

RelayLink::RelayLink(const config::RelayConfig& config, Endpoint server,
                     std::optional<io::UdpSocket> socket, std::optional<RelayStream> stream,
                     Instant now, WallTime wall)
    : config_(config),
      server_(server),
      socket_(std::move(socket)),
      batch_(2 * kTunSlots),
      batch_peers_(2 * kTunSlots),
      control_(1),
      recv_(kBatchSize, 65536),
      stream_(std::move(stream)) {
  // The stream connects from the first timer on: a mark set after start() applies to it.
  client_ = std::make_unique<core::TurnClient>(turn_config(wall), now);
  client_->set_wall_clock(wall, now);
}

Result<std::unique_ptr<RelayLink>> RelayLink::start(const config::RelayConfig& config,
                                                    bool dont_fragment, Instant now,
                                                    WallTime wall) {
  const std::string text = config.host.find(':') != std::string::npos
                               ? "[" + config.host + "]:" + std::to_string(config.port)
                               : config.host + ":" + std::to_string(config.port);
  auto server = resolve_endpoint(text);
  if (!server) return fail("[Relay] Url " + config.url + ": " + server.error().message);
  if (config.tls || relay_url_is_tcp(config.url)) {
    RelayStreamOptions options;
    if (config.tls) {  // the name checked is the Url's host, as [Control] checks its Server's
      auto ctx = io::TlsContext::client(io::TlsClientOptions{.ca_file = config.ca_file});
      if (!ctx) return fail("[Relay] " + ctx.error().message);
      options.tls.emplace(std::move(*ctx));
      options.server_name = config.host;
    }
    // No socket of its own: the data path takes the frames off the stream (pump_relay).
    auto stream = RelayStream::open(*server, std::move(options));
    if (!stream) return fail(stream.error().message);
    return std::unique_ptr<RelayLink>(
        new RelayLink(config, *server, std::nullopt, std::move(*stream), now, wall));
  }
  auto socket = io::UdpSocket::bind(0);
  if (!socket) return fail("the relay's socket: " + socket.error().message);
  if (dont_fragment) {
    if (auto st = socket->set_dont_fragment(true); !st) return fail(st.error().message);
  }
  (void)socket->enable_gso();
  (void)socket->enable_gro();
  return std::unique_ptr<RelayLink>(
      new RelayLink(config, *server, std::move(*socket), std::nullopt, now, wall));
}

core::TurnConfig RelayLink::turn_config(WallTime wall) const {
  core::TurnConfig c;
  c.server_host = config_.host;
  c.server_port = config_.port;
  c.family = family_;
  if (stream_) {
    c.transport = stream_->tls() ? core::StunTransport::kTls : core::StunTransport::kTcp;
  }
  if (!config_.secret.empty()) {
    const int64_t expiry = wall.unix_ns / 1'000'000'000 + kRestValiditySeconds;
    c.credentials = core::rest_credentials(
        config_.secret, config_.username.empty() ? "tern" : config_.username, expiry);
  } else {
    c.credentials = {config_.username, config_.password};
  }
  return c;
}

void RelayLink::add_peer(core::Device& device, core::PeerId id, const Endpoint& endpoint,
                         Instant now) {
  peers_.push_back({id, endpoint, std::vector<uint8_t>(kHeldSize), std::nullopt});
  if (!choose_family(device, now)) client_->add_peer(endpoint, now);
  device.set_relay_leg(id, leg(endpoint, client_->bound_channel(endpoint, now).has_value()), now);
  send_control();
}

bool RelayLink::carries(const Endpoint& to) const {
  // A handful of relayed peers: a scan is cheaper than any map.
  return std::any_of(peers_.begin(), peers_.end(),
                     [&](const RelayedPeer& p) { return p.endpoint == to; });
}

bool RelayLink::queue(core::Device& device, const Endpoint& to, MutableBytes message, Instant now) {
  if (hold(to, message, now)) return true;
  MutableBytes buffer(message.data() - kRelayHeadroom,
                      kRelayHeadroom + message.size() + kRelayTailroom);
  const core::TurnSend framed = client_->send_to(to, buffer, message.size(), now);
  if (!framed.ok()) {
    device.count_drop(framed.reason, to);
    return false;
  }
  batch_peers_[batch_.size()] = to;
  (void)batch_.add(server_, framed.message);  // the caller made room
  return true;
}

Result<size_t> RelayLink::receive() {
  return socket_->recv(recv_);
}

size_t RelayLink::receive_frames(std::span<MutableBytes> frames, Instant now) {
  return stream_->pump(frames, now);
}

void RelayLink::flush(core::Device& device) {
  if (stream_) {  // one frame after another on the stream; the client padded ChannelData
    const Instant now = io::monotonic_now();
    for (size_t i = 0; i < batch_.size(); ++i) {
      if (!stream_->queue(batch_.data(i)))
        device.count_drop(DropReason::kSendFailed, batch_peers_[i]);
    }
    stream_->write(now);  // the whole batch in one write when the socket takes it
    batch_.clear();
    return;
  }
  size_t done = 0;
  while (done < batch_.size()) {
    auto sent = socket_->send(batch_, done);
    if (!sent) {
      log::warn("sending to the relay failed: {}", sent.error().message);
      break;
    }
    for (size_t i = done; i < done + *sent; ++i) {
      const int err = batch_.error(i);
      if (err == EMSGSIZE) {  // larger than the way to the relay: a hint for that peer's search
        device.on_relay_send_too_big(batch_peers_[i], batch_.data(i).size(), io::monotonic_now());
      } else if (err != 0) {
        device.count_drop(DropReason::kSendFailed, batch_peers_[i]);
      }
    }
    done += *sent;
    if (done < batch_.size()) {  // the socket buffer is full: wait a little, as datapath.cpp does
      pollfd p{socket_->fd(), POLLOUT, 0};
      if (::poll(&p, 1, 50) <= 0) break;
    }
  }
  for (size_t i = done; i < batch_.size(); ++i)
    device.count_drop(DropReason::kSendFailed, batch_peers_[i]);
  batch_.clear();
}

std::optional<std::pair<Endpoint, MutableBytes>> RelayLink::handle_datagram(core::Device& device,
                                                                            const Endpoint& from,
                                                                            MutableBytes datagram,
                                                                            Instant now) {
  if (from != server_) {  // not the relay's: never acted on
    device.count_drop(DropReason::kUnexpectedMessage);
    return std::nullopt;
  }
  return handle_message(device, datagram, now);
}

std::optional<std::pair<Endpoint, MutableBytes>> RelayLink::handle_message(core::Device& device,
                                                                           MutableBytes message,
                                                                           Instant now) {
  const core::TurnReceive r = client_->handle_input(message, now);
  switch (r.kind) {
    case core::TurnReceive::Kind::kData: {
      const size_t offset = static_cast<size_t>(r.payload.data() - message.data());
      return std::pair{r.peer, message.subspan(offset, r.payload.size())};
    }
    case core::TurnReceive::Kind::kDropped:
      device.count_drop(r.reason);
      return std::nullopt;
    case core::TurnReceive::Kind::kConsumed:
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<Instant> RelayLink::poll_timeout() const {
  auto t = client_->poll_timeout();
  if (retry_at_ && (!t || *retry_at_ < *t)) t = retry_at_;
  if (stream_) {
    if (auto r = stream_->reconnect_at(); r && (!t || *r < *t)) t = r;
    if (auto c = stream_->check_at(); c && (!t || *c < *t)) t = c;
  }
  return t;
}

void RelayLink::send_control() {
  if (stream_) {  // nothing is taken from the client until the stream is up
    if (!stream_->connected()) return;
    while (auto m = client_->poll_transmit()) {
      if (!stream_->send(*m, io::monotonic_now()))
        log::debug("a message to the relay was not sent");
    }
    return;
  }
  while (auto m = client_->poll_transmit()) {
    control_.clear();
    (void)control_.add(server_, *m);
    auto sent = socket_->send(control_);
    if (!sent || *sent == 0 || control_.error(0) != 0) {
      log::debug("a message to the relay {} was not sent", server_.to_string());
    }
  }
  control_.clear();
}

core::PathLeg RelayLink::leg(const Endpoint& peer, bool bound) const {
  if (!stream_) {
    return {server_.address.is_v6(),
            bound ? core::kChannelDataFraming : core::send_indication_framing(peer.address)};
  }
  // A Send indication's length is a multiple of 4 already; ChannelData is padded on a stream.
  const size_t framing =
      bound ? core::kChannelDataStreamFraming : core::send_indication_framing(peer.address);
  const size_t tls = stream_->tls() ? kTlsRecordOverhead : 0;
  return {server_.address.is_v6(), framing + core::kTcpOverUdpHeader + tls, true};
}

void RelayLink::set_framing(core::Device& device, const Endpoint& peer, bool bound, Instant now) {
  for (const auto& p : peers_) {
    if (p.endpoint == peer) device.set_relay_leg(p.id, leg(peer, bound), now);
  }
}

void RelayLink::on_stream_change(core::Device& device, Instant now, WallTime wall) {
  if (!stream_) return;
  const bool lost = stream_->take_lost();
  const bool came_up = stream_->take_came_up();
  if (!lost && !came_up) return;
  // An allocation made over TCP lives as long as its connection: a new one needs a new client.
  retry_at_.reset();
  new_client(device, now, wall);
}

void RelayLink::new_client(core::Device& device, Instant now, WallTime wall) {
  client_ = std::make_unique<core::TurnClient>(turn_config(wall), now);
  client_->set_wall_clock(wall, now);
  for (const auto& p : peers_) {
    client_->add_peer(p.endpoint, now);
    set_framing(device, p.endpoint, false, now);
  }
}

void RelayLink::apply_events(core::Device& device, Instant now) {
  while (auto e = client_->poll_event()) {
    if (auto* a = std::get_if<core::TurnAllocated>(&*e)) {
      log::info("relay {}: allocated {} (lifetime {} s)", config_.url, a->relayed.to_string(),
                std::chrono::duration_cast<std::chrono::seconds>(a->lifetime).count());
      last_error_.clear();
      for (const auto& p : peers_)
        client_->add_peer(p.endpoint, now);
    } else if (std::holds_alternative<core::TurnPermissionCreated>(*e)) {
      release_held(device, now);
    } else if (auto* b = std::get_if<core::TurnChannelBound>(&*e)) {
      log::debug("relay: channel {:#x} bound to {}", b->channel, b->peer.to_string());
      set_framing(device, b->peer, true, now);
    } else if (auto* f = std::get_if<core::TurnPeerFailed>(&*e)) {
      log::warn("relay: peer {}: {}", f->peer.to_string(), f->error.message);
      set_framing(device, f->peer, false, now);
    } else if (auto* l = std::get_if<core::TurnAllocationLost>(&*e)) {
      log::warn("relay {}: allocation lost: {}", config_.url, l->error.message);
      for (const auto& p : peers_)
        set_framing(device, p.endpoint, false, now);
    } else if (auto* x = std::get_if<core::TurnFailed>(&*e)) {
      last_error_ = x->error.message;
      log::warn("relay {}: {}; trying again in {} s", config_.url, x->error.message,
                std::chrono::duration_cast<std::chrono::seconds>(kRetryAfterFailure).count());
      retry_at_ = now + kRetryAfterFailure;
    }
  }
}

void RelayLink::after_input(core::Device& device, Instant now) {
  on_stream_change(device, now, io::wall_now());
  follow_endpoints(device, now);
  send_control();
  apply_events(device, now);
  release_held(device, now);  // also ends those held too long
  send_control();
}

void RelayLink::on_timer(core::Device& device, Instant now, WallTime wall) {
  if (stream_) {
    if (retry_at_ && now >= *retry_at_) {  // over TCP a fresh allocation is a fresh connection
      retry_at_.reset();
      stream_->drop(now, "the allocation failed" + (last_error_.empty() ? "" : ": " + last_error_));
    }
    stream_->check(now);  // a stalled connection (PMTU black hole) is dropped and made again
    stream_->connect(now);
    on_stream_change(device, now, wall);
  } else if (retry_at_ && now >= *retry_at_) {
    retry_at_.reset();
    new_client(device, now, wall);
  }
  client_->set_wall_clock(wall, now);
  client_->handle_timeout(now);
  after_input(device, now);
}

RelayStatus RelayLink::status(Instant now) const {
  RelayStatus st;
  st.url = config_.url;
  st.server = server_.to_string();
  st.state = std::string(client_->state_name());
  st.relayed = client_->relayed_address();
  st.mapped = client_->mapped_address();
  st.last_error = last_error_;
  if (const auto* f = client_->failure()) st.last_error = f->message;
  if (stream_ && !stream_->connected() && !stream_->last_error().empty()) {
    st.last_error = fmt::format("{} ({} failed attempt(s) in a row; retrying, at most every 30 s)",
                                stream_->last_error(), stream_->failures());
  }
  if (stream_) {
    st.stream_stalls = stream_->stalls();
    st.stream_mss = stream_->mss();
  }
  for (const auto& p : peers_) {
    RelayPeerStatus ps;
    ps.endpoint = p.endpoint;
    ps.channel = client_->bound_channel(p.endpoint, now).value_or(0);
    ps.permission = client_->has_permission(p.endpoint.address, now);
    st.peers.push_back(ps);
  }
  return st;
}

}  // namespace tern::agent
