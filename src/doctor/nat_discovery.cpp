#include "doctor/nat_discovery.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "crypto/random.hpp"

namespace tern::doctor {
namespace {

BindingRequest plain_request() {
  BindingRequest r;
  crypto::random_bytes(r.id);
  return r;
}

BindingRequest change_request(bool ip, bool port) {
  BindingRequest r = plain_request();
  r.change = wire::ChangeRequest{ip, port};
  return r;
}

}  // namespace

core::RetransmitPolicy nat_probe_policy() {
  core::RetransmitPolicy p;
  p.rto = std::chrono::milliseconds(200);
  p.rc = 4;
  p.rm = 8;
  return p;
}

NatDiscovery::NatDiscovery(Config config, Instant now) : config_(std::move(config)) {
  if (config_.servers.empty()) {
    result_.error = "no STUN server given";
    step_ = Step::kDone;
    return;
  }
  result_.server = config_.servers.front();
  result_.local = config_.local[kMappingSocket];
  start(Step::kMapPrimary, now);
}

std::string_view NatDiscovery::step_name() const {
  switch (step_) {
    case Step::kMapPrimary:
      return "mapping: test I (primary address)";
    case Step::kMapOtherIp:
      return "mapping: test II (other IP, primary port)";
    case Step::kMapOtherBoth:
      return "mapping: test III (other address)";
    case Step::kMapSecondServer:
      return "mapping: second server";
    case Step::kFilterPlain:
      return "filtering: test I";
    case Step::kFilterChangeBoth:
      return "filtering: test II (answer from the other address)";
    case Step::kFilterChangePort:
      return "filtering: test III (answer from the other port)";
    case Step::kHairpin:
      return "hairpinning";
    case Step::kDone:
      return "done";
  }
  return "done";
}

void NatDiscovery::start_transaction(size_t socket, const Endpoint& to, BindingRequest request,
                                     Instant now) {
  auto bytes = build_binding_request(request);
  out_.push_back(NatTransmit{socket, to, bytes});
  tx_.emplace(Transaction{socket, to, request, std::move(bytes),
                          core::StunRetransmit(core::StunTransport::kUdp, now, config_.policy)});
}

void NatDiscovery::start(Step step, Instant now) {
  step_ = step;
  tx_.reset();
  const Endpoint primary = config_.servers.front();
  const auto& other = result_.other_address;
  switch (step) {
    case Step::kMapPrimary:
      return start_transaction(kMappingSocket, primary, plain_request(), now);
    case Step::kMapOtherIp:
      return start_transaction(kMappingSocket, Endpoint{other->address, primary.port},
                               plain_request(), now);
    case Step::kMapOtherBoth:
      return start_transaction(kMappingSocket, *other, plain_request(), now);
    case Step::kMapSecondServer:
      return start_transaction(kMappingSocket, config_.servers[1], plain_request(), now);
    case Step::kFilterPlain:
      return start_transaction(kFilteringSocket, primary, plain_request(), now);
    case Step::kFilterChangeBoth:
      return start_transaction(kFilteringSocket, primary, change_request(true, true), now);
    case Step::kFilterChangePort:
      return start_transaction(kFilteringSocket, primary, change_request(false, true), now);
    case Step::kHairpin:
      return start_transaction(kHairpinSocket, *result_.mapped, plain_request(), now);
    case Step::kDone:
      return;
  }
}

std::optional<NatTransmit> NatDiscovery::poll_transmit() {
  if (out_.empty()) return std::nullopt;
  NatTransmit t = std::move(out_.front());
  out_.pop_front();
  return t;
}

std::optional<Instant> NatDiscovery::poll_timeout() const {
  if (!tx_) return std::nullopt;
  return tx_->timer.deadline();
}

void NatDiscovery::handle_timeout(Instant now) {
  if (!tx_) return;
  auto deadline = tx_->timer.deadline();
  if (!deadline || now < *deadline) return;
  switch (tx_->timer.poll(now)) {
    case core::StunRetransmit::Due::kNothing:
      return;
    case core::StunRetransmit::Due::kRetransmit:
      out_.push_back(NatTransmit{tx_->socket, tx_->to, tx_->bytes});
      return;
    case core::StunRetransmit::Due::kTimedOut:
      finish(std::nullopt, Endpoint{}, now);
      return;
  }
}

// Answers to plain requests must come from where the request went; CHANGE-REQUEST answers
// must come from elsewhere, which the step checks itself.
bool NatDiscovery::from_acceptable(const Endpoint& from) const {
  if (step_ == Step::kFilterChangeBoth || step_ == Step::kFilterChangePort) return true;
  return from == tx_->to;
}

void NatDiscovery::handle_input(size_t socket, const Endpoint& from, Bytes data, Instant now) {
  if (!tx_) return;
  if (step_ == Step::kHairpin) {
    // The hairpinned request itself arrives at socket 0, unchanged.
    auto m = wire::StunMessage::parse(data);
    if (socket == kMappingSocket && m && m->is_request() &&
        m->transaction_id() == tx_->request.id) {
      result_.hairpinning = true;
      start(Step::kDone, now);
    }
    return;
  }
  if (socket != tx_->socket) return;
  AnswerRead read = read_binding_answer(data, tx_->request.id);
  switch (read.kind) {
    case AnswerKind::kNotOurs:
      return;
    case AnswerKind::kMalformed:
      ++result_.malformed_answers;
      note_fault(asked_server(), fmt::format("{} sent {}", from.to_string(), read.detail), true);
      return;  // keep waiting: a good answer may still come
    case AnswerKind::kError:
      note_fault(asked_server(),
                 fmt::format("{} answered {} with {}", from.to_string(), step_name(), read.detail));
      finish(std::nullopt, from, now);
      return;
    case AnswerKind::kAnswer:
      if (!from_acceptable(from)) {
        ++result_.wrong_source_answers;
        if (result_.wrong_source_answers == 1) {
          note_fault(asked_server(),
                     fmt::format("an answer for {} came from {}, not from {}: ignored",
                                 tx_->to.to_string(), from.to_string(), tx_->to.to_string()));
        }
        return;
      }
      if (read.answer->mapped == from) {
        // No NAT maps a client onto the server's own address: the server is lying or broken.
        ++result_.malformed_answers;
        note_fault(
            asked_server(),
            fmt::format("{} answered that this machine is at {}, the server's own address: ignored",
                        from.to_string(), read.answer->mapped.to_string()),
            true);
        return;
      }
      finish(read.answer, from, now);
      return;
  }
}

Endpoint NatDiscovery::asked_server() const {
  if (tx_ && config_.servers.size() > 1 && tx_->to == config_.servers[1]) return tx_->to;
  return config_.servers.front();
}

void NatDiscovery::note_fault(const Endpoint& server, const std::string& what, bool malformed) {
  auto it = std::find_if(fault_lines_.begin(), fault_lines_.end(),
                         [&](const FaultLine& l) { return l.server == server; });
  if (it == fault_lines_.end()) {
    fault_lines_.push_back({server, {}, 0});
    result_.server_faults.emplace_back();
    it = fault_lines_.end() - 1;
  }
  if (malformed) ++it->malformed;
  if (!malformed || it->malformed == 1) it->text += (it->text.empty() ? "" : "; ") + what;
  std::string& line = result_.server_faults[static_cast<size_t>(it - fault_lines_.begin())];
  line = it->malformed > 1 ? fmt::format("{} ({} malformed answers)", it->text, it->malformed)
                           : it->text;
}

void NatDiscovery::finish(const std::optional<BindingAnswer>& answer, const Endpoint& from,
                          Instant now) {
  auto& r = result_;
  const Endpoint primary = config_.servers.front();
  switch (step_) {
    case Step::kMapPrimary:
      if (!answer) {
        r.error = fmt::format("no usable answer from {} to a STUN Binding request over UDP",
                              primary.to_string());
        return start(Step::kDone, now);
      }
      r.mapped = answer->mapped;
      if (answer->other_address && answer->other_address->address != primary.address &&
          answer->other_address->port != primary.port &&
          answer->other_address->address.family() == primary.address.family()) {
        r.other_address = answer->other_address;
      }
      if (r.local) r.port_preserved = r.mapped->port == r.local->port;
      if (r.local && *r.local == *r.mapped) {
        r.mapping = Mapping::kNoNat;
        r.mapping_detail = "the server sees this socket's own address: no NAT on the way";
      }
      if (r.other_address) return start(Step::kMapOtherIp, now);
      if (config_.servers.size() > 1) return start(Step::kMapSecondServer, now);
      if (r.mapping != Mapping::kNoNat) {
        r.mapping_detail =
            "one server address without OTHER-ADDRESS: the mapping behaviour cannot be told "
            "(give a server with two addresses, or a second --stun server)";
      }
      return after_mapping(now);
    case Step::kMapOtherIp:
      if (!answer) {
        r.mapping_detail = "the server's other address did not answer: mapping not told";
        return after_mapping(now);
      }
      mapped_other_ip_ = answer->mapped;
      if (answer->mapped == *r.mapped) {
        if (r.mapping != Mapping::kNoNat) {
          r.mapping = Mapping::kEndpointIndependent;
          r.mapping_detail = "the same mapping towards both server addresses";
        }
        return after_mapping(now);
      }
      return start(Step::kMapOtherBoth, now);
    case Step::kMapOtherBoth:
      if (!answer) {
        r.mapping = Mapping::kDependent;
        r.mapping_detail = "a new mapping for the other address; test III got no answer";
      } else if (answer->mapped == *mapped_other_ip_) {
        r.mapping = Mapping::kAddressDependent;
        r.mapping_detail = "a new mapping per destination address, kept across its ports";
      } else {
        r.mapping = Mapping::kAddressAndPortDependent;
        r.mapping_detail = "a new mapping per destination address and port";
      }
      return after_mapping(now);
    case Step::kMapSecondServer:
      if (!answer) {
        r.mapping_detail = fmt::format("the second server {} did not answer: mapping not told",
                                       config_.servers[1].to_string());
      } else if (answer->mapped == *r.mapped) {
        if (r.mapping != Mapping::kNoNat) {
          r.mapping = Mapping::kEndpointIndependent;
          r.mapping_detail =
              "the same mapping towards two servers (plain STUN: endpoint-independent as far "
              "as two servers can tell)";
        }
      } else {
        r.mapping = Mapping::kDependent;
        r.mapping_detail =
            "two servers saw two mappings: the mapping depends on the destination (whether on "
            "its address only or also its port needs a server with two addresses)";
      }
      return after_mapping(now);
    case Step::kFilterPlain:
      if (!answer) {
        r.filtering_detail = "the filtering test's first request got no answer";
        return after_filtering(now);
      }
      return start(Step::kFilterChangeBoth, now);
    case Step::kFilterChangeBoth:
      if (answer && from.address == primary.address) {
        note_fault(primary,
                   "the server ignores CHANGE-REQUEST (it answered from its primary address)");
        r.filtering_detail = "the server ignores CHANGE-REQUEST: filtering not told";
        return after_filtering(now);
      }
      if (answer) {
        r.filtering = Filtering::kEndpointIndependent;
        r.filtering_detail = "an answer from the other address and port came in";
        return after_filtering(now);
      }
      return start(Step::kFilterChangePort, now);
    case Step::kFilterChangePort:
      if (answer && from.port == primary.port) {
        note_fault(primary,
                   "the server ignores CHANGE-REQUEST (it answered from its primary port)");
        r.filtering_detail = "the server ignores CHANGE-REQUEST: filtering not told";
      } else if (answer) {
        r.filtering = Filtering::kAddressDependent;
        r.filtering_detail = "only answers from an address already contacted come in";
      } else {
        r.filtering = Filtering::kAddressAndPortDependent;
        r.filtering_detail = "only answers from an address and port already contacted come in";
      }
      return after_filtering(now);
    case Step::kHairpin:
      r.hairpinning = false;
      return start(Step::kDone, now);
    case Step::kDone:
      return;
  }
}

void NatDiscovery::after_mapping(Instant now) {
  if (result_.other_address) return start(Step::kFilterPlain, now);
  if (result_.filtering_detail.empty()) {
    result_.filtering_detail =
        "needs a server with two addresses (RFC 5780 OTHER-ADDRESS): filtering not told";
  }
  after_filtering(now);
}

void NatDiscovery::after_filtering(Instant now) {
  if (result_.mapping == Mapping::kNoNat) return start(Step::kDone, now);
  start(Step::kHairpin, now);
}

}  // namespace tern::doctor
