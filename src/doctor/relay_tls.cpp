#include "doctor/relay_tls.hpp"

#include <fmt/format.h>

namespace tern::doctor {
namespace {

std::string names_text(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "no name" : out;
}

}  // namespace

Check judge_tls(const TlsReport& t, const std::string& host, int64_t now_unix) {
  std::string session = fmt::format("{} {}", t.protocol, t.cipher);
  if (t.handshake_time) {
    session +=
        fmt::format(", handshake {:.1f} ms", static_cast<double>(t.handshake_time->count()) / 1e6);
  }
  if (!t.has_certificate) {
    return {CheckStatus::kFail, session + "; the server sent no certificate",
            "configure a certificate on the server (coturn: cert= and pkey=)"};
  }
  const int64_t days_left = (t.not_after_unix - now_unix) / 86400;
  const std::string facts =
      fmt::format("{}; certificate for {}, issued by {}, valid until {}", session,
                  names_text(t.names), t.issuer, utc_text(t.not_after_unix));
  // The most pressing cause first: an expired certificate fails every client.
  if (now_unix > t.not_after_unix) {
    return {CheckStatus::kFail,
            fmt::format("{}: EXPIRED {} day{} ago", facts, -days_left, -days_left == 1 ? "" : "s"),
            "renew the certificate on the server (certbot renew, then restart or reload "
            "turnserver); if it was renewed, the server still serves the old file"};
  }
  if (now_unix < t.not_before_unix) {
    return {CheckStatus::kFail,
            fmt::format("{}: not valid before {}", facts, utc_text(t.not_before_unix)),
            "this host's clock or the server's is wrong: synchronise them (timedatectl, NTP)"};
  }
  if (!t.name_matches) {
    return {CheckStatus::kFail, fmt::format("{}: it does not cover {}", facts, host),
            fmt::format("use turns:NAME with one of the names above, or issue a certificate "
                        "that includes {}",
                        host)};
  }
  if (!t.trusted) {
    return {
        CheckStatus::kFail,
        fmt::format("{}: not trusted ({})", facts, t.self_signed ? "self-signed" : t.verify_error),
        t.self_signed ? "give clients the CA (tern doctor relay --ca-file), or use a "
                        "certificate from a public CA"
                      : "install the full chain (certificate then intermediates) on the "
                        "server (coturn: cert= points at fullchain.pem), or give the CA "
                        "with --ca-file"};
  }
  if (days_left < kCertificateWarnDays) {
    return {CheckStatus::kWarn,
            fmt::format("{}: expires in {} day{}", facts, days_left, days_left == 1 ? "" : "s"),
            "renew the certificate now: automatic renewal seems to have stopped"};
  }
  return {CheckStatus::kPass, fmt::format("{}; trusted, name matches", facts), ""};
}

}  // namespace tern::doctor
