// The verdict on a TURN server's TLS certificate (turns:), as a pure function of what the
// handshake showed and the time now, so every case is unit-tested: expired or not yet
// valid, issued for other names, not trusted, expiring soon.
#pragma once

#include <cstdint>
#include <string>

#include "doctor/relay_report.hpp"

namespace tern::doctor {

// A certificate that ends within this many days is a warning: renewal has failed somewhere.
inline constexpr int64_t kCertificateWarnDays = 14;

[[nodiscard]] Check judge_tls(const TlsReport& tls, const std::string& host, int64_t now_unix);

}  // namespace tern::doctor
