#include "doctor/finding_adapters.hpp"

#include "crypto/key_encoding.hpp"

namespace tern::doctor {

std::vector<Finding> findings_from_wg(const std::vector<WgInterfaceReport>& reports) {
  std::vector<Finding> out;
  for (const auto& r : reports) {
    for (const auto& p : r.peers) {
      const Subject subject{SubjectKind::kPeer, crypto::key_to_base64(p.public_key), r.ifname};
      for (const auto& f : p.findings) {
        out.push_back({f.code, Severity::kError, subject, f.message, "wg"});
      }
    }
  }
  return out;
}

std::vector<Finding> findings_from_nat(const NatReport& report, bool per_peer_keepalives) {
  std::vector<Finding> out;
  const Subject host{SubjectKind::kHost, "the NAT in front of this host", ""};
  for (const auto& f : nat_findings(report)) {
    if (per_peer_keepalives && f.code == "nat_short_lifetime") continue;
    // A symmetric NAT still carries packets (through the relay); the STUN faults hide causes.
    const Severity s = f.code == "nat_short_lifetime" ? Severity::kError : Severity::kWarning;
    out.push_back({f.code, s, host, f.message, "nat"});
  }
  return out;
}

std::vector<Finding> findings_from_mtu(const MtuReport& report) {
  std::vector<Finding> out;
  Subject subject{SubjectKind::kHost, report.target, ""};
  if (report.peer) {
    subject = {SubjectKind::kPeer, report.peer->public_key, report.peer->interface_name};
  }
  for (const auto& f : report.findings) {
    const bool lost = f.cause != MtuCause::kNoEchoReply && f.cause != MtuCause::kPeerNotFound;
    std::string message = f.detail;
    if (!f.fix.empty()) message += ": " + f.fix;
    out.push_back({std::string(mtu_cause_name(f.cause)),
                   lost ? Severity::kError : Severity::kWarning, subject, message, "mtu"});
  }
  return out;
}

std::vector<Finding> findings_from_relay(const std::vector<RelayUrlResult>& results) {
  std::vector<Finding> out;
  for (const auto& r : results) {
    const Subject subject{SubjectKind::kRelay, r.url, ""};
    for (const auto& f : r.findings) {
      out.push_back(
          {f.code, f.warning ? Severity::kWarning : Severity::kError, subject, f.message, "relay"});
    }
  }
  return out;
}

std::vector<Finding> findings_from_routes(const RoutesReport& report) {
  std::vector<Finding> out;
  for (const auto& i : report.interfaces) {
    const Subject subject{SubjectKind::kInterface, i.name, ""};
    for (const auto& f : i.findings) {
      out.push_back({f.code, Severity::kError, subject, f.message, "routes"});
    }
  }
  return out;
}

}  // namespace tern::doctor
