#include "doctor/relay_fix.hpp"

#include <fmt/format.h>

namespace tern::doctor {

using core::TurnErrorKind;

bool is_authentication_error(TurnErrorKind kind) {
  return kind == TurnErrorKind::kWrongCredentials || kind == TurnErrorKind::kCredentialsExpired ||
         kind == TurnErrorKind::kBadChallenge || kind == TurnErrorKind::kStaleNonceLoop;
}

bool implies_authenticated(TurnErrorKind kind) {
  return kind == TurnErrorKind::kForbidden || kind == TurnErrorKind::kQuotaReached ||
         kind == TurnErrorKind::kInsufficientCapacity ||
         kind == TurnErrorKind::kAllocationMismatch ||
         kind == TurnErrorKind::kAddressFamilyNotSupported ||
         kind == TurnErrorKind::kUnsupportedTransport;
}

std::string fix_for(TurnErrorKind kind, const TurnUrl& url) {
  switch (kind) {
    case TurnErrorKind::kWrongCredentials:
      return "check --user/--password against the server's users (coturn: user=NAME:PASSWORD, "
             "turnadmin -a), or --secret against its static-auth-secret, and the realm";
    case TurnErrorKind::kCredentialsExpired:
      return "synchronise this machine's and the server's clocks (timedatectl, NTP), or issue "
             "REST credentials that live longer";
    case TurnErrorKind::kBadChallenge:
      return "the server's 401 cannot be answered: give it a realm (coturn: realm=) and "
             "long-term credentials (lt-cred-mech or use-auth-secret)";
    case TurnErrorKind::kStaleNonceLoop:
      return "check the server's clock and nonce lifetime (coturn: stale-nonce=600)";
    case TurnErrorKind::kForbidden:
      return "the server refuses this user or peer: check its denied-peer-ip and user policy";
    case TurnErrorKind::kAllocationMismatch:
      return "an old allocation from this address is still alive: wait for it to expire or "
             "restart the check from another port";
    case TurnErrorKind::kAddressFamilyNotSupported:
      return "give the server a relay address of this family (coturn: relay-ip=)";
    case TurnErrorKind::kUnsupportedTransport:
      return "the server does not relay UDP: check coturn's no-udp-relay";
    case TurnErrorKind::kPeerAddressFamilyMismatch:
      return "use a peer address of the relayed address's family";
    case TurnErrorKind::kQuotaReached:
      return "this user has too many allocations: raise the quota (coturn: user-quota=, "
             "total-quota=) or close stale sessions";
    case TurnErrorKind::kInsufficientCapacity:
      return "the server is out of relay ports or bandwidth: widen min-port..max-port or raise "
             "bps-capacity";
    case TurnErrorKind::kTryAlternate:
      return "point the clients at the alternate server the message names";
    case TurnErrorKind::kTimeout:
      if (url.transport == UrlTransport::kTcp || url.transport == UrlTransport::kTls) {
        return fmt::format(
            "the server took the connection but does not answer STUN on it: check that TCP "
            "port {} on {} serves TURN{} and look at the server's log",
            url.port, url.host, url.transport == UrlTransport::kTls ? " over TLS" : "");
      }
      return fmt::format(
          "open UDP port {} on {} and on every firewall in between (and the "
          "relay port range), or try turn:{}?transport=tcp",
          url.port, url.host, url.server());
    case TurnErrorKind::kServerFault:
      return "the server answers, so this is not a firewall: look at its log, check that this "
             "port serves STUN/TURN and that nothing in front of it rewrites UDP, or use another "
             "server";
    case TurnErrorKind::kBadRequest:
    case TurnErrorKind::kUnknownAttribute:
    case TurnErrorKind::kServerError:
    case TurnErrorKind::kProtocol:
    case TurnErrorKind::kOther:
      return "look at the server's log for this request; upgrade it if it is old";
  }
  return {};
}

}  // namespace tern::doctor
