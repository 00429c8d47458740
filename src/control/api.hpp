// The control server's HTTP API as a function from a request to a response, with no
// sockets: the server loop (cli/control_serve.cpp) and the tests call handle(), and the
// admin commands run the same routes on a local data directory through admin().
//
//   GET    /healthz                  no auth
//   POST   /api/v1/register          setup key + public key -> its record + stream token
//   GET    /api/v1/keys              admin token (Authorization: Bearer tat_...)
//   POST   /api/v1/keys              -> 201 {"key": {...}, "secret": "tsk_..."}
//   DELETE /api/v1/keys/{id}
//   GET    /api/v1/peers
//   DELETE /api/v1/peers/{id}
//   GET    /api/v1/audit?limit=N
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ip.hpp"
#include "base/result.hpp"
#include "base/time.hpp"
#include "control/guess_limit.hpp"
#include "control/http.hpp"
#include "control/network_map.hpp"
#include "control/store.hpp"
#include "crypto/hmac_sha.hpp"

namespace tern::control {

struct ApiOptions {
  std::vector<RelayConfig> relays;
};

// Who is asking and when: the client's address (for the guess limit), the monotonic time
// (for the limit's buckets) and the wall time in Unix seconds (for the store).
struct Caller {
  IpAddress address;
  Instant now{};
  int64_t now_unix = 0;
};

class Api {
 public:
  Api(Store& store, ApiOptions options, const crypto::Sha256Digest& admin_token_hash);

  [[nodiscard]] HttpResponse handle(const HttpRequest& request, const Caller& caller);
  // The admin routes without a token, for commands run on the data directory itself.
  [[nodiscard]] HttpResponse admin(std::string_view method, std::string_view path,
                                   std::string_view query, std::string_view body, int64_t now_unix,
                                   std::string_view actor);
  const GuessLimit& guess_limit() const { return limit_; }

 private:
  HttpResponse register_peer(const HttpRequest& request, const Caller& caller);

  Store& store_;
  ApiOptions options_;
  crypto::Sha256Digest token_hash_;
  GuessLimit limit_;
};

// The response for a parse failure other than kIncomplete/kOk (400, 413, 431, 501).
[[nodiscard]] HttpResponse parse_error_response(HttpParse result);
[[nodiscard]] HttpResponse error_response(int status, std::string_view message,
                                          std::string_view reason = {});

// The admin token's hash, made on first start: returns the token's text when it was
// just created (to print once), nullopt when one already exists.
[[nodiscard]] Result<std::optional<std::string>> ensure_admin_token(Store& store, int64_t now_unix);
[[nodiscard]] Result<crypto::Sha256Digest> admin_token_hash(Store& store);

}  // namespace tern::control
