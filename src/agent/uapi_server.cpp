#include "agent/uapi_server.hpp"

#include <poll.h>

#include <nlohmann/json.hpp>

#include "agent/agent_state.hpp"
#include "agent/relay_link.hpp"
#include "agent/status_client.hpp"
#include "base/log.hpp"
#include "crypto/key_encoding.hpp"
#include "io/clock.hpp"
#include "uapi/uapi.hpp"

namespace tern::agent {
namespace {

constexpr int kWriteTimeoutMs = 1000;

bool write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    auto n = io::write_some(
        fd, Bytes(reinterpret_cast<const uint8_t*>(data.data()) + done, data.size() - done));
    if (!n) return false;
    done += *n;
    if (done < data.size()) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, kWriteTimeoutMs) <= 0) return false;
    }
  }
  return true;
}

uapi::DeviceSnapshot snapshot(Agent::State& s) {
  uapi::DeviceSnapshot snap;
  snap.private_key = s.device.private_key();
  snap.fwmark = s.fwmark;
  snap.listen_port = s.udp.local_port();
  for (core::PeerId id : s.device.peer_ids()) {
    auto info = s.device.peer_info(id);
    uapi::PeerSnapshot p;
    p.public_key = info->public_key;
    if (info->preshared_key != crypto::Key{}) p.preshared_key = info->preshared_key;
    p.endpoint = info->endpoint;
    if (info->last_handshake) p.set_last_handshake(*info->last_handshake);
    p.rx_bytes = info->traffic.rx_bytes;
    p.tx_bytes = info->traffic.tx_bytes;
    p.persistent_keepalive_interval = info->persistent_keepalive;
    p.allowed_ips = info->allowed_ips;
    snap.peers.push_back(std::move(p));
  }
  return snap;
}

// Applies a parsed "set=1" request; returns the errno to report (0 on success).
int apply_set(Agent::State& s, const uapi::SetRequest& req, Instant now) {
  core::Device& d = s.device;
  if (req.private_key) d.set_private_key(*req.private_key);
  if (req.remove_private_key) {
    log::warn("UAPI: removing the private key is not supported; the key stays as it was");
  }
  if (req.fwmark && *req.fwmark != s.fwmark) {
    if (auto st = s.udp.set_mark(*req.fwmark); !st) {
      log::warn("UAPI: {}", st.error().message);
      return EPERM;
    }
    if (s.policy_rules) {
      log::warn(
          "UAPI: fwmark is now {:#x}, but the full-tunnel rules send packets without mark {:#x} "
          "into the tunnel: the tunnel's own packets may now loop into it",
          *req.fwmark, s.fwmark);
    }
    s.fwmark = *req.fwmark;
  }
  if (req.listen_port && *req.listen_port != s.udp.local_port()) {
    auto udp = io::UdpSocket::bind(*req.listen_port);
    if (!udp) {
      log::warn("UAPI: {}", udp.error().message);
      return EADDRINUSE;
    }
    if (s.fwmark != 0) {
      if (auto st = udp->set_mark(s.fwmark); !st) {
        log::warn("UAPI: {}", st.error().message);
        return EPERM;
      }
    }
    s.poller.remove(s.udp.fd());
    s.udp = std::move(*udp);
    if (auto st = s.poller.add(s.udp.fd(), kTokenUdp, true, false); !st) {
      log::error("UAPI: {}", st.error().message);
      return EIO;
    }
  }
  if (req.replace_peers) d.remove_all_peers();
  for (const auto& pc : req.peers) {
    auto existing = d.find_peer(pc.public_key);
    if (pc.remove) {
      if (existing) d.remove_peer(*existing);
      continue;
    }
    if (pc.update_only && !existing) continue;
    auto id = existing ? existing : d.add_peer(pc.public_key);
    if (!id) continue;  // our own key: ignored, as wireguard-go does
    if (pc.preshared_key) d.set_preshared_key(*id, *pc.preshared_key);
    if (pc.endpoint) d.set_endpoint(*id, *pc.endpoint);
    if (pc.replace_allowed_ips) d.clear_allowed_ips(*id);
    for (const auto& prefix : pc.allowed_ips)
      d.add_allowed_ip(*id, prefix);
    for (const auto& prefix : pc.removed_allowed_ips)
      d.remove_allowed_ip(*id, prefix);
    if (pc.persistent_keepalive) d.set_persistent_keepalive(*id, *pc.persistent_keepalive, now);
  }
  return 0;
}

}  // namespace

InterfaceStatus collect_status(Agent::State& s) {
  InterfaceStatus st;
  st.name = s.name;
  st.public_key = crypto::key_to_base64(s.device.public_key());
  st.listen_port = s.udp.local_port();
  st.mtu = s.mtu;
  st.totals = {s.device.totals().rx_bytes, s.device.totals().tx_bytes, s.device.totals().rx_packets,
               s.device.totals().tx_packets};
  st.drops = s.device.drops();
  for (core::PeerId id : s.device.peer_ids()) {
    auto info = s.device.peer_info(id);
    PeerStatus p;
    p.public_key = crypto::key_to_base64(info->public_key);
    p.endpoint = info->endpoint;
    p.last_handshake = info->last_handshake;
    p.traffic = {info->traffic.rx_bytes, info->traffic.tx_bytes, info->traffic.rx_packets,
                 info->traffic.tx_packets};
    p.persistent_keepalive = info->persistent_keepalive;
    p.allowed_ips = info->allowed_ips;
    p.drops = info->drops;
    p.mtu.known = true;
    if (info->path_mtu) p.mtu.path_mtu = static_cast<uint32_t>(*info->path_mtu);
    p.mtu.overlay_mtu = static_cast<uint32_t>(info->overlay_mtu);
    p.mtu.pmtud_state = std::string(core::pmtud_state_name(info->pmtud_state));
    if (info->probe_support != core::ProbeSupport::kUnknown) {
      p.mtu.peer_runs_tern = info->probe_support == core::ProbeSupport::kTern;
    }
    p.mtu.announced_mtu = info->announced_mtu;
    p.mtu.pings_sent = info->probes.pings_sent;
    p.mtu.pongs_received = info->probes.pongs_received;
    p.mtu.ptb_sent = info->boundary.ptb_sent;
    p.mtu.fragments_made = info->boundary.fragments_made;
    p.mtu.mss_clamped = info->boundary.mss_clamped;
    p.via_relay = s.relay && info->endpoint && s.relay->carries(*info->endpoint);
    st.peers.push_back(std::move(p));
  }
  if (s.control) st.control = s.control->status();
  if (s.relay) st.relay = s.relay->status(io::monotonic_now());
  return st;
}

Result<std::unique_ptr<UapiServer>> UapiServer::listen(const std::string& path) {
  auto listener = io::UnixListener::listen(path);
  if (!listener) return fail(listener.error().message);
  auto server = std::unique_ptr<UapiServer>(new UapiServer(std::move(*listener)));
  server->next_token_ = kTokenConnectionBase;
  return server;
}

void UapiServer::accept(Agent::State& s) {
  for (;;) {
    auto fd = listener_.accept();
    if (!fd) {
      log::warn("UAPI: {}", fd.error().message);
      return;
    }
    if (!*fd) return;
    const uint64_t token = next_token_++;
    if (auto st = s.poller.add((*fd)->get(), token, true, false); !st) {
      log::warn("UAPI: {}", st.error().message);
      continue;
    }
    connections_.emplace(token, Connection{std::move(**fd), uapi::RequestFramer()});
  }
}

void UapiServer::close(Agent::State& s, uint64_t token) {
  auto it = connections_.find(token);
  if (it == connections_.end()) return;
  s.poller.remove(it->second.fd.get());
  connections_.erase(it);
}

void UapiServer::handle(Agent::State& s, uint64_t token, Instant now) {
  auto it = connections_.find(token);
  if (it == connections_.end()) return;
  Connection& c = it->second;
  uint8_t buf[4096];
  for (;;) {
    auto n = io::read_some(c.fd.get(), buf);
    if (!n || (*n && **n == 0)) {  // error or peer closed
      close(s, token);
      return;
    }
    if (!*n) break;  // nothing more now
    c.framer.feed(std::string_view(reinterpret_cast<const char*>(buf), **n));
    // Answer every complete request.
    for (;;) {
      auto request = c.framer.next();
      if (!request) {
        // Unknown operation or oversized request: say so, then hang up.
        log::warn("UAPI: {}", request.error().message);
        (void)write_all(c.fd.get(), uapi::format_errno(request.error().errno_value));
        close(s, token);
        return;
      }
      if (!*request) break;
      if (!answer(s, c, **request, now)) {
        close(s, token);
        return;
      }
    }
  }
}

bool UapiServer::answer(Agent::State& s, Connection& c, const uapi::Request& request, Instant now) {
  std::string reply;
  switch (request.operation) {
    case uapi::Request::Operation::kGet:
      reply = uapi::format_get(snapshot(s));
      break;
    case uapi::Request::Operation::kSet: {
      auto req = uapi::parse_set(request.body);
      if (!req) log::warn("UAPI set rejected: {}", req.error().message);
      reply = uapi::format_errno(req ? apply_set(s, *req, now) : req.error().errno_value);
      break;
    }
    case uapi::Request::Operation::kTernStatus:
      reply = "status=" + to_json(collect_status(s)).dump() + "\nerrno=0\n\n";
      break;
  }
  return write_all(c.fd.get(), reply);
}

}  // namespace tern::agent
