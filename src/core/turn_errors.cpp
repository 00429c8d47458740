#include "core/turn_errors.hpp"

#include <fmt/core.h>

#include <chrono>

#include "wire/stun_attributes.hpp"

namespace tern::core {
namespace {

namespace err = wire::stun_error;

std::string_view family_name(IpAddress::Family f) {
  return f == IpAddress::Family::kV4 ? "IPv4" : "IPv6";
}

std::string_view other_family_name(IpAddress::Family f) {
  return f == IpAddress::Family::kV4 ? "IPv6" : "IPv4";
}

std::string seconds(Duration d) {
  return fmt::format("{:.1f} s", std::chrono::duration<double>(d).count());
}

// "(403 Forbidden: peer not allowed)": the code, the standard name, the server's words.
std::string code_text(uint16_t code, std::string_view standard, std::string_view reason) {
  const auto cleaned = clean_server_text(reason);
  if (cleaned.empty() || cleaned == standard) return fmt::format("{} {}", code, standard);
  return fmt::format("{} {}: \"{}\"", code, standard, cleaned);
}

TurnError make(TurnErrorKind kind, uint16_t code, std::string message) {
  return TurnError{kind, code, std::move(message)};
}

TurnError forbidden(const TurnErrorContext& ctx, std::string_view reason) {
  const auto why = code_text(err::kForbidden, "Forbidden", reason);
  if (ctx.peer) {
    return make(TurnErrorKind::kForbidden, err::kForbidden,
                fmt::format("{} forbids relaying to {} ({}): its policy denies this peer address "
                            "(coturn: denied-peer-ip, or its refusal of private and loopback "
                            "peers); reach the peer another way, or allow the address on the "
                            "server (coturn: allowed-peer-ip)",
                            ctx.server(), ctx.peer->address.to_string(), why));
  }
  return make(TurnErrorKind::kForbidden, err::kForbidden,
              fmt::format("{} refused the request ({}): this user or this client address may "
                          "not allocate relays there; check the server's user and client-address "
                          "policy",
                          ctx.server(), why));
}

}  // namespace

std::string_view turn_error_kind_name(TurnErrorKind k) {
  switch (k) {
    case TurnErrorKind::kWrongCredentials:
      return "wrong_credentials";
    case TurnErrorKind::kCredentialsExpired:
      return "credentials_expired";
    case TurnErrorKind::kBadChallenge:
      return "bad_challenge";
    case TurnErrorKind::kStaleNonceLoop:
      return "stale_nonce_loop";
    case TurnErrorKind::kForbidden:
      return "forbidden";
    case TurnErrorKind::kAllocationMismatch:
      return "allocation_mismatch";
    case TurnErrorKind::kAddressFamilyNotSupported:
      return "address_family_not_supported";
    case TurnErrorKind::kUnsupportedTransport:
      return "unsupported_transport";
    case TurnErrorKind::kPeerAddressFamilyMismatch:
      return "peer_address_family_mismatch";
    case TurnErrorKind::kQuotaReached:
      return "quota_reached";
    case TurnErrorKind::kInsufficientCapacity:
      return "insufficient_capacity";
    case TurnErrorKind::kTryAlternate:
      return "try_alternate";
    case TurnErrorKind::kBadRequest:
      return "bad_request";
    case TurnErrorKind::kUnknownAttribute:
      return "unknown_attribute";
    case TurnErrorKind::kServerError:
      return "server_error";
    case TurnErrorKind::kTimeout:
      return "timeout";
    case TurnErrorKind::kProtocol:
      return "protocol";
    case TurnErrorKind::kServerFault:
      return "server_fault";
    case TurnErrorKind::kOther:
      return "other";
  }
  return "other";
}

std::string TurnErrorContext::host_text() const {
  if (host.find(':') != std::string_view::npos) return fmt::format("[{}]", host);
  return std::string(host);
}

std::string TurnErrorContext::server() const {
  return fmt::format("{}:{}", host_text(), port);
}

TurnError turn_error(const TurnErrorContext& ctx, uint16_t code, std::string_view reason) {
  const auto server = ctx.server();
  switch (code) {
    case err::kTryAlternate:
      return make(TurnErrorKind::kTryAlternate, code,
                  fmt::format("{} redirects tern to {} ({}); tern does not follow redirects: "
                              "configure that server instead",
                              server, ctx.alternate ? ctx.alternate->to_string() : "another server",
                              code_text(code, "Try Alternate", reason)));
    case err::kBadRequest:
      return make(TurnErrorKind::kBadRequest, code,
                  fmt::format("{} rejected tern's {} request as malformed ({}): tern and the "
                              "server disagree on the protocol; please report it with this text",
                              server, wire::stun_method_name(ctx.method),
                              code_text(code, "Bad Request", reason)));
    case err::kForbidden:
      return forbidden(ctx, reason);
    case err::kUnknownAttribute:
      return make(TurnErrorKind::kUnknownAttribute, code,
                  fmt::format("{} does not understand an attribute of tern's {} request ({}): "
                              "the server does not implement TURN as RFC 8656 defines it; use an "
                              "up-to-date TURN server",
                              server, wire::stun_method_name(ctx.method),
                              code_text(code, "Unknown Attribute", reason)));
    case err::kAllocationMismatch:
      return make(TurnErrorKind::kAllocationMismatch, code,
                  fmt::format("{} reports an allocation mismatch ({}): it holds an allocation "
                              "for this address and port that is not tern's current one",
                              server, code_text(code, "Allocation Mismatch", reason)));
    case err::kAddressFamilyNotSupported:
      return make(TurnErrorKind::kAddressFamilyNotSupported, code,
                  fmt::format("{} cannot give an {} relayed address ({}): ask it for an {} one, "
                              "or give the server an {} relay address (coturn: relay-ip)",
                              server, family_name(ctx.family),
                              code_text(code, "Address Family not Supported", reason),
                              other_family_name(ctx.family), family_name(ctx.family)));
    case err::kWrongCredentials:
      return make(TurnErrorKind::kWrongCredentials, code,
                  fmt::format("{} says the credentials differ from the ones that created the "
                              "allocation ({}): the username changed while the allocation lived; "
                              "keep one username per allocation",
                              server, code_text(code, "Wrong Credentials", reason)));
    case err::kUnsupportedTransportProtocol:
      return make(TurnErrorKind::kUnsupportedTransport, code,
                  fmt::format("{} does not relay UDP ({}): tern needs UDP relaying; enable it on "
                              "the server (coturn: remove no-udp-relay)",
                              server, code_text(code, "Unsupported Transport Protocol", reason)));
    case err::kPeerAddressFamilyMismatch:
      return make(TurnErrorKind::kPeerAddressFamilyMismatch, code,
                  fmt::format("{} cannot relay to {} ({}): the peer's address family differs "
                              "from the relayed address's; use a relay of the peer's family",
                              server, ctx.peer ? ctx.peer->to_string() : "this peer",
                              code_text(code, "Peer Address Family Mismatch", reason)));
    case err::kAllocationQuotaReached:
      return make(TurnErrorKind::kQuotaReached, code,
                  fmt::format("{} refused the allocation: the user's quota is reached ({}); "
                              "often stale allocations of a client that restarted hold it, and "
                              "they expire within their lifetime (10 min by default); wait, or "
                              "raise the quota (coturn: user-quota, total-quota)",
                              server, code_text(code, "Allocation Quota Reached", reason)));
    case err::kServerError:
      return make(TurnErrorKind::kServerError, code,
                  fmt::format("{} failed internally ({}); try again later, and check the "
                              "server's log",
                              server, code_text(code, "Server Error", reason)));
    case err::kInsufficientCapacity:
      return make(TurnErrorKind::kInsufficientCapacity, code,
                  fmt::format("{} is out of capacity ({}): it has no relay ports or bandwidth "
                              "left; try again later or use another relay, or give it more "
                              "(coturn: min-port/max-port, total-quota, max-bps)",
                              server, code_text(code, "Insufficient Capacity", reason)));
    default:
      break;
  }
  const auto cleaned = clean_server_text(reason);
  return make(
      TurnErrorKind::kOther, code,
      fmt::format("{} answered tern's {} request with error {}{}{}", server,
                  wire::stun_method_name(ctx.method), code, cleaned.empty() ? "" : ": ", cleaned));
}

TurnError turn_timeout_error(const TurnErrorContext& ctx, Duration waited) {
  const auto server = ctx.server();
  const auto t = seconds(waited);
  switch (ctx.transport) {
    case StunTransport::kUdp:
      return make(TurnErrorKind::kTimeout, 0,
                  fmt::format("no answer from {} over UDP in {}: the server is down or UDP/{} is "
                              "blocked; try turn:{}?transport=tcp or turns:{}:5349",
                              server, t, ctx.port, server, ctx.host_text()));
    case StunTransport::kTcp:
      return make(TurnErrorKind::kTimeout, 0,
                  fmt::format("no answer from {} over TCP in {}: the connection is open but "
                              "nothing answers TURN on it (a TLS port, or another service); try "
                              "turns:{}:5349, or turn:{} over UDP",
                              server, t, ctx.host_text(), server));
    case StunTransport::kTls:
      return make(TurnErrorKind::kTimeout, 0,
                  fmt::format("no answer from {} over TLS in {}: the TLS session is up but "
                              "nothing answers TURN inside it (a TLS proxy to another service?); "
                              "try turn:{}?transport=tcp or turn:{} over UDP",
                              server, t, server, server));
  }
  return make(TurnErrorKind::kTimeout, 0, fmt::format("no answer from {} in {}", server, t));
}

TurnError turn_server_fault_error(const TurnErrorContext& ctx, Duration waited,
                                  const TurnUnusableAnswers& unusable) {
  std::string counts;
  auto count = [&counts](unsigned n, std::string_view what) {
    if (n == 0) return;
    counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", n, what);
  };
  count(unusable.malformed, "malformed");
  count(unusable.wrong_source, "from a wrong address");
  count(unusable.unexpected, "unexpected");
  // Answers from elsewhere: a server with several addresses that answers from another one, or a
  // NAT in front of it that is not 1:1.
  const std::string where =
      unusable.wrong_source == 0
          ? ""
          : "; answers from another address come from a server answering from an address it "
            "was not asked on (coturn: listening-ip, relay-ip) or from a NAT in front of it "
            "that changes the source";
  return make(TurnErrorKind::kServerFault, 0,
              fmt::format("{} answered tern's {} request {} time(s) over {} in {} but never "
                          "usably ({}; the last: {}): the server is there and no firewall blocks "
                          "it; it is broken or misconfigured, or something between rewrites its "
                          "answers{}; look at its log, fix it or use another server",
                          ctx.server(), wire::stun_method_name(ctx.method), unusable.total(),
                          stun_transport_name(ctx.transport), seconds(waited), counts,
                          clean_server_text(unusable.last), where));
}

TurnError turn_credentials_error(const TurnErrorContext& ctx, std::string_view username,
                                 std::string_view realm, std::optional<int64_t> rest_expiry_unix,
                                 std::optional<int64_t> local_unix) {
  const auto server = ctx.server();
  const auto user = clean_server_text(username);
  const auto realm_text = clean_server_text(realm);
  if (!rest_expiry_unix) {
    return make(TurnErrorKind::kWrongCredentials, err::kUnauthorized,
                fmt::format("{} refused the username \"{}\" and its password for realm \"{}\" "
                            "(401 Unauthorized after tern answered the challenge): the password "
                            "is wrong, the user does not exist there, or the password was set "
                            "for another realm; fix the credentials (coturn: turnadmin -a -u {} "
                            "-r {} -p PASSWORD, or a user= line)",
                            server, user, realm_text, user, realm_text));
  }
  const int64_t expiry = *rest_expiry_unix;
  if (!local_unix) {
    return make(TurnErrorKind::kWrongCredentials, err::kUnauthorized,
                fmt::format("{} refused the TURN REST credentials \"{}\" (401 Unauthorized), "
                            "valid until {}: the shared secret differs from the server's "
                            "(coturn: use-auth-secret with static-auth-secret), or a clock is "
                            "wrong; compare the secret and both clocks (timedatectl)",
                            server, user, format_unix_utc(expiry)));
  }
  const int64_t left = expiry - *local_unix;
  const int64_t near = std::chrono::duration_cast<std::chrono::seconds>(kRestExpiryNear).count();
  if (left <= 0) {
    return make(TurnErrorKind::kCredentialsExpired, err::kUnauthorized,
                fmt::format("{} refused the TURN REST credentials \"{}\": they expired at {}, "
                            "{} s ago by this machine's clock; fetch fresh credentials, and if "
                            "they were just issued, the issuer's clock or this one is wrong "
                            "(clock skew): check both with timedatectl and enable NTP",
                            server, user, format_unix_utc(expiry), -left));
  }
  if (left <= near) {
    return make(TurnErrorKind::kCredentialsExpired, err::kUnauthorized,
                fmt::format("{} refused the TURN REST credentials \"{}\", which expire at {}, "
                            "in {} s by this machine's clock: the server's clock is probably "
                            "ahead of this one by more than that (clock skew); synchronise the "
                            "clocks (timedatectl, NTP) or issue credentials that live longer",
                            server, user, format_unix_utc(expiry), left));
  }
  return make(TurnErrorKind::kWrongCredentials, err::kUnauthorized,
              fmt::format("{} refused the TURN REST credentials \"{}\" (401 Unauthorized), still "
                          "valid for {} s by this machine's clock: the shared secret differs "
                          "from the server's (coturn: use-auth-secret with static-auth-secret), "
                          "the realm differs, or the server's clock is more than {} s ahead",
                          server, user, left, left));
}

TurnError turn_stale_nonce_error(const TurnErrorContext& ctx, unsigned times) {
  return make(TurnErrorKind::kStaleNonceLoop, wire::stun_error::kStaleNonce,
              fmt::format("{} answered 438 Stale Nonce {} times in a row, each time to a fresh "
                          "nonce: its nonces expire before a request can use them; check the "
                          "server's clock and nonce lifetime (coturn: stale-nonce)",
                          ctx.server(), times));
}

TurnError turn_protocol_error(const TurnErrorContext& ctx, std::string_view what) {
  return make(TurnErrorKind::kProtocol, 0,
              fmt::format("{} answered tern's {} request without {}: not a TURN server as RFC "
                          "8656 defines it, or something between rewrites its messages",
                          ctx.server(), wire::stun_method_name(ctx.method), what));
}

std::string clean_server_text(std::string_view text) {
  constexpr size_t kMax = 128;
  std::string out;
  for (char c : text.substr(0, kMax)) {
    out.push_back(c >= 0x20 && c < 0x7F ? c : '?');
  }
  if (text.size() > kMax) out += "...";
  return out;
}

std::string format_unix_utc(int64_t unix_seconds) {
  // Civil date from days since the epoch (H. Hinnant's algorithm): no time zone, no clock.
  int64_t days = unix_seconds / 86400;
  int64_t secs = unix_seconds % 86400;
  if (secs < 0) {
    secs += 86400;
    --days;
  }
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", year, month, day, secs / 3600,
                     secs / 60 % 60, secs % 60);
}

}  // namespace tern::core
