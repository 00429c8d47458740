// RFC 5780 behaviour discovery as a sans-I/O state machine: it says which datagram to send
// from which of its three sockets and when, takes what arrives, and decides step by step.
//   socket 0 (mapping):   test I to the primary address; test II to the other IP and the
//                         primary port; test III to the other address (§4.3)
//   socket 2 (filtering): a fresh mapping to the primary; then CHANGE-REQUEST IP and port,
//                         then port only (§4.4); fresh, since socket 0 has met the other address
//   socket 1 (hairpin):   a request to socket 0's mapping; socket 0 hears it or not (§4.5)
// With no OTHER-ADDRESS but a second server, socket 0's mappings to both are compared.
#pragma once

#include <array>
#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

#include "base/bytes.hpp"
#include "base/ip.hpp"
#include "base/time.hpp"
#include "core/stun_transaction.hpp"
#include "doctor/nat_types.hpp"
#include "doctor/stun_probe.hpp"

namespace tern::doctor {

struct NatTransmit {
  size_t socket = 0;
  Endpoint to;
  std::vector<uint8_t> data;
};

// Short: sends at 0, 0.2, 0.6 and 1.4 s, given up at 3 s. A filtering test expects silence,
// so every silence costs this much.
core::RetransmitPolicy nat_probe_policy();

class NatDiscovery {
 public:
  static constexpr size_t kMappingSocket = 0;
  static constexpr size_t kHairpinSocket = 1;
  static constexpr size_t kFilteringSocket = 2;
  static constexpr size_t kSockets = 3;

  struct Config {
    std::vector<Endpoint> servers;  // the first is the primary; a second is used without RFC 5780
    std::array<std::optional<Endpoint>, kSockets> local{};  // each socket's own address
    core::RetransmitPolicy policy = nat_probe_policy();
  };

  NatDiscovery(Config config, Instant now);

  void handle_input(size_t socket, const Endpoint& from, Bytes data, Instant now);
  void handle_timeout(Instant now);
  [[nodiscard]] std::optional<NatTransmit> poll_transmit();
  [[nodiscard]] std::optional<Instant> poll_timeout() const;
  bool done() const { return step_ == Step::kDone; }
  const NatDiscoveryResult& result() const { return result_; }
  // "mapping: test II (other address)": for a progress line.
  std::string_view step_name() const;

 private:
  enum class Step : uint8_t {
    kMapPrimary,
    kMapOtherIp,
    kMapOtherBoth,
    kMapSecondServer,
    kFilterPlain,
    kFilterChangeBoth,
    kFilterChangePort,
    kHairpin,
    kDone,
  };
  struct Transaction {
    size_t socket = 0;
    Endpoint to;
    BindingRequest request;
    std::vector<uint8_t> bytes;
    core::StunRetransmit timer;
  };

  void start(Step step, Instant now);
  void start_transaction(size_t socket, const Endpoint& to, BindingRequest request, Instant now);
  // The current step's outcome: an answer, or nullopt when it timed out.
  void finish(const std::optional<BindingAnswer>& answer, const Endpoint& from, Instant now);
  void after_mapping(Instant now);
  void after_filtering(Instant now);
  bool from_acceptable(const Endpoint& from) const;
  // The configured server the transaction in flight asks (its other address is its own).
  Endpoint asked_server() const;
  // Adds to `server`'s one line in result_.server_faults (one finding per server): its faults
  // in order, the first malformed answer only, then how many there were.
  void note_fault(const Endpoint& server, const std::string& what, bool malformed = false);

  Config config_;
  NatDiscoveryResult result_;
  Step step_ = Step::kMapPrimary;
  std::optional<Transaction> tx_;
  std::deque<NatTransmit> out_;
  std::optional<Endpoint> mapped_other_ip_;  // test II's answer
  struct FaultLine {
    Endpoint server;
    std::string text;
    unsigned malformed = 0;
  };
  std::vector<FaultLine> fault_lines_;  // parallel to result_.server_faults
};

}  // namespace tern::doctor
