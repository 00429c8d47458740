// The agent's server-reflexive address: a STUN Binding request (RFC 8489) to each relay of the
// network map, sent from the WireGuard socket so that the NAT mapping it finds is the one
// peers reach; the answer's XOR-MAPPED-ADDRESS joins the endpoints reported to the server.
// Sans-I/O: the control link sends what poll_transmit() gives on that socket, and the receive
// path offers datagrams from the relays' addresses to handle_input() before the device.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/ip.hpp"
#include "base/time.hpp"
#include "core/stun_transaction.hpp"
#include "wire/stun.hpp"

namespace tern::agent {

// "turn:HOST[:PORT]" or "stun:..." over UDP -> "HOST:PORT" (RFC 7064/7065, default port
// 3478); nullopt for the secure and TCP forms, which cannot answer a Binding request on the
// WireGuard socket, and for anything malformed.
[[nodiscard]] std::optional<std::string> stun_server_of(std::string_view relay_url);

class ReflexiveProbe {
 public:
  // A NAT keeps an idle UDP mapping for 30 s or more, WireGuard's keepalives keep it: asking
  // every few minutes catches a new public address (a NAT reboot, a new uplink).
  static constexpr Duration kInterval = std::chrono::minutes(3);

  // The relays' addresses, from the map; a changed list is asked at once.
  void set_servers(std::vector<Endpoint> servers, Instant now);
  // True when `datagram` from `from` is the answer to one of our requests (it is consumed,
  // not a WireGuard message). Anything else, from anyone, is left to the device.
  [[nodiscard]] bool handle_input(const Endpoint& from, Bytes datagram, Instant now);
  void handle_timeout(Instant now);
  std::optional<Instant> poll_timeout() const;

  struct Transmit {
    Endpoint to;
    std::vector<uint8_t> data;  // a request every few minutes: not the data path
  };
  std::optional<Transmit> poll_transmit();

  // The mapped address from the relays' last answers (the first relay's IPv4 one, else IPv6);
  // nullopt before the first answer, or when every relay's last request went unanswered.
  std::optional<Endpoint> reflexive() const;
  const std::vector<Endpoint>& servers() const { return servers_; }

 private:
  struct Server {
    Endpoint address;
    Instant next{};  // the next request
    std::optional<wire::TransactionId> pending;
    std::optional<core::StunRetransmit> retransmit;
    std::optional<Endpoint> mapped;
    bool send_now = false;
  };
  void start_request(Server& s, Instant now);

  std::vector<Endpoint> servers_;
  std::vector<Server> state_;
};

}  // namespace tern::agent
