// libFuzzer target for the control API end to end below the socket: bytes are parsed as
// an HTTP request and handed to control::Api over a real SQLite store in a temporary
// directory. "@TOKEN@" in the input becomes the admin token and "@KEY@" a valid reusable
// setup key, so the fuzzer reaches the admin routes and registration, not only the 401s.
// Every answer must be a known status with a JSON body; nothing may crash or leak.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "control/api.hpp"
#include "control/api_requests.hpp"
#include "control/http.hpp"
#include "control/sqlite_store.hpp"

namespace {

using namespace tern;

void require(bool ok) {
  if (!ok) std::abort();
}

struct World {
  std::unique_ptr<control::SqliteStore> store;
  std::unique_ptr<control::Api> api;
  std::string token;
  std::string key;
  int64_t now_unix = 1'700'000'000;
  int64_t ns = 0;
};

std::filesystem::path& store_dir() {
  static std::filesystem::path dir;
  return dir;
}

World& world() {
  static World* w = [] {
    auto* out = new World;
    const auto base = std::filesystem::exists("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                          : std::filesystem::temp_directory_path();
    const auto dir = base / ("tern-control-fuzz-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    store_dir() = dir;
    // The store lives as long as the process; its directory goes with it.
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(store_dir(), ec);
    });
    auto store = control::SqliteStore::open(dir.string());
    require(store.has_value());
    out->store = std::move(*store);
    out->token = **control::ensure_admin_token(*out->store, out->now_unix);
    out->api = std::make_unique<control::Api>(*out->store, control::ApiOptions{},
                                              *control::admin_token_hash(*out->store));
    control::NewSetupKey k;
    k.reusable = true;
    k.usage_limit = 0;
    out->key = out->store->create_setup_key(k, out->now_unix, "fuzz")->second;
    return out;
  }();
  return *w;
}

void replace_all(std::string& s, std::string_view from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& w = world();
  std::string in(reinterpret_cast<const char*>(data), size);
  // The body parsers alone, on the raw bytes.
  (void)control::parse_register_request(in);
  (void)control::parse_key_request(in, w.now_unix);

  replace_all(in, "@TOKEN@", w.token);
  replace_all(in, "@KEY@", w.key);
  control::HttpRequest request;
  const auto parsed = control::parse_http_request(in, request);
  if (parsed.result == control::HttpParse::kIncomplete) return 0;
  w.ns += 1'000'000'000;  // a second per request: the guess limit refills
  const control::HttpResponse r =
      parsed.result == control::HttpParse::kOk
          ? w.api->handle(request, control::Caller{*IpAddress::parse("192.0.2.1"),
                                                   instant_from_ns(w.ns), ++w.now_unix})
          : control::parse_error_response(parsed.result);
  require(r.status >= 200 && r.status < 600 && r.status != 500);
  require(!nlohmann::json::parse(r.body, nullptr, false).is_discarded());
  // Secrets never come back, except a key just created (201 from POST /api/v1/keys).
  require(r.body.find(w.token) == std::string::npos);
  require(r.body.find(w.key) == std::string::npos);
  return 0;
}
