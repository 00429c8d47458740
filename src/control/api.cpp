#include "control/api.hpp"

#include <sodium.h>

#include <nlohmann/json.hpp>

#include "base/decimal.hpp"
#include "control/api_requests.hpp"
#include "control/secret.hpp"
#include "crypto/key_encoding.hpp"
#include "crypto/sodium.hpp"

namespace tern::control {
namespace {

using nlohmann::json;

constexpr std::string_view kApi = "/api/v1/";
constexpr size_t kDefaultAuditLimit = 100;
constexpr size_t kMaxAuditLimit = 10000;

HttpResponse json_response(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump() + "\n";
  return r;
}

std::string to_hex(const crypto::Sha256Digest& d) {
  (void)crypto::ensure_sodium();
  char text[crypto::kSha256Size * 2 + 1];
  sodium_bin2hex(text, sizeof text, d.data(), d.size());
  return text;
}

HttpResponse internal_error(const Error& e) {
  return error_response(500, "the server could not complete the request: " + e.message);
}

json key_json(const SetupKeyRecord& k, int64_t now_unix) {
  const KeyVerdict v = check_setup_key(k, now_unix);
  return {{"id", k.id},
          {"name", k.name},
          {"prefix", k.lookup},
          {"reusable", k.reusable},
          {"usage_limit", k.usage_limit},
          {"used", k.used},
          {"expires", k.expires_unix ? json(*k.expires_unix) : json(nullptr)},
          {"revoked", k.revoked},
          {"state", v == KeyVerdict::kOk ? "valid" : std::string(verdict_name(v))},
          {"tags", k.tags},
          {"created", k.created_unix}};
}

json peer_record_json(const PeerRecord& p) {
  json endpoints = json::array();
  for (const auto& e : p.endpoints)
    endpoints.push_back(e.to_string());
  return {{"id", p.id},
          {"public_key", crypto::key_to_base64(p.public_key)},
          {"name", p.name},
          {"ipv4", p.ipv4.to_string()},
          {"ipv6", p.ipv6.to_string()},
          {"endpoints", std::move(endpoints)},
          {"tags", p.tags},
          {"setup_key_id", p.setup_key_id},
          {"created", p.created_unix},
          {"last_seen", p.last_seen_unix}};
}

// "/api/v1/keys/12" with collection "keys" -> 12; nullopt for anything else.
std::optional<int64_t> item_id(std::string_view path, std::string_view collection) {
  if (!path.starts_with(kApi)) return std::nullopt;
  path.remove_prefix(kApi.size());
  if (!path.starts_with(collection) || path.size() <= collection.size() + 1 ||
      path[collection.size()] != '/') {
    return std::nullopt;
  }
  const auto n = parse_decimal(path.substr(collection.size() + 1), uint64_t{INT64_MAX});
  if (!n) return std::nullopt;
  return static_cast<int64_t>(*n);
}

size_t audit_limit(std::string_view query) {
  constexpr std::string_view kLimit = "limit=";
  if (!query.starts_with(kLimit)) return kDefaultAuditLimit;
  const auto n = parse_decimal(query.substr(kLimit.size()), kMaxAuditLimit);
  return n ? static_cast<size_t>(*n) : kDefaultAuditLimit;
}

HttpResponse method_not_allowed(std::string_view allow) {
  auto r = error_response(405, "method not allowed");
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

}  // namespace

HttpResponse error_response(int status, std::string_view message, std::string_view reason) {
  json body = {{"error", message}};
  if (!reason.empty()) body["reason"] = reason;
  return json_response(status, body);
}

HttpResponse parse_error_response(HttpParse result) {
  switch (result) {
    case HttpParse::kBodyTooLarge:
      return error_response(
          413, "the request body is larger than " + std::to_string(kMaxBody) + " bytes");
    case HttpParse::kHeadTooLarge:
      return error_response(
          431, "the request head is larger than " + std::to_string(kMaxHead) + " bytes");
    case HttpParse::kUnsupported:
      return error_response(501, "Transfer-Encoding is not supported: send Content-Length");
    case HttpParse::kBad:
    case HttpParse::kIncomplete:
    case HttpParse::kOk:
      break;
  }
  return error_response(400, "malformed HTTP request");
}

Api::Api(Store& store, ApiOptions options, const crypto::Sha256Digest& admin_token_hash)
    : store_(store), options_(std::move(options)), token_hash_(admin_token_hash) {}

HttpResponse Api::handle(const HttpRequest& request, const Caller& caller) {
  if (request.path == "/healthz") return json_response(200, {{"ok", true}});
  if (request.path == "/api/v1/register") {
    if (request.method != "POST") return method_not_allowed("POST");
    return register_peer(request, caller);
  }
  if (!request.path.starts_with(kApi)) return error_response(404, "no such endpoint");

  // Everything else is for admins.
  if (!limit_.allow(caller.address, caller.now)) {
    return error_response(429, "too many failed attempts from this address: wait a minute",
                          "rate limited");
  }
  const auto auth = request.header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!auth || !auth->starts_with(kBearer)) {
    auto r =
        error_response(401, "an admin token is needed: Authorization: Bearer tat_...", "no token");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  if (!secret_matches(token_hash_, auth->substr(kBearer.size()))) {
    limit_.failed(caller.address, caller.now);
    auto r = error_response(401, "the admin token is not valid", "invalid token");
    r.headers.emplace_back("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    return r;
  }
  return admin(request.method, request.path, request.query, request.body, caller.now_unix, "admin");
}

HttpResponse Api::register_peer(const HttpRequest& request, const Caller& caller) {
  if (!limit_.allow(caller.address, caller.now)) {
    return error_response(429, "too many wrong setup keys from this address: wait a minute",
                          "rate limited");
  }
  auto req = parse_register_request(request.body);
  if (!req) return error_response(400, req.error().message, "bad request");
  auto reg = store_.register_peer(req->setup_key, req->hello, caller.now_unix);
  if (!reg) return internal_error(reg.error());
  if (reg->verdict != KeyVerdict::kOk) {
    if (reg->verdict == KeyVerdict::kWrong) limit_.failed(caller.address, caller.now);
    const std::string name(verdict_name(reg->verdict));
    return error_response(403, "the setup key is " + name, name);
  }
  // The machine's own record and where to get its map: the stream's first message is the
  // full map. (A map here would make each registration O(peers), all of them O(peers^2).)
  return json_response(reg->created ? 201 : 200, {{"peer", peer_record_json(*reg->peer)},
                                                  {"stream", "/api/v1/stream"},
                                                  {"stream_token", reg->stream_token}});
}

HttpResponse Api::admin(std::string_view method, std::string_view path, std::string_view query,
                        std::string_view body, int64_t now_unix, std::string_view actor) {
  if (path == "/api/v1/keys") {
    if (method == "GET") {
      auto keys = store_.list_setup_keys();
      if (!keys) return internal_error(keys.error());
      json out = json::array();
      for (const auto& k : *keys)
        out.push_back(key_json(k, now_unix));
      return json_response(200, {{"keys", std::move(out)}});
    }
    if (method == "POST") {
      auto req = parse_key_request(body, now_unix);
      if (!req) return error_response(400, req.error().message, "bad request");
      auto created = store_.create_setup_key(*req, now_unix, actor);
      if (!created) return internal_error(created.error());
      return json_response(
          201, {{"key", key_json(created->first, now_unix)}, {"secret", created->second}});
    }
    return method_not_allowed("GET, POST");
  }
  if (auto id = item_id(path, "keys")) {
    if (method != "DELETE") return method_not_allowed("DELETE");
    auto done = store_.revoke_setup_key(*id, now_unix, actor);
    if (!done) return internal_error(done.error());
    if (!*done) return error_response(404, "no setup key with id " + std::to_string(*id));
    return json_response(200, {{"revoked", *id}});
  }
  if (path == "/api/v1/peers") {
    if (method != "GET") return method_not_allowed("GET");
    auto peers = store_.list_peers();
    if (!peers) return internal_error(peers.error());
    json out = json::array();
    for (const auto& p : *peers)
      out.push_back(peer_record_json(p));
    return json_response(200, {{"peers", std::move(out)}});
  }
  if (auto id = item_id(path, "peers")) {
    if (method != "DELETE") return method_not_allowed("DELETE");
    auto done = store_.remove_peer(*id, now_unix, actor);
    if (!done) return internal_error(done.error());
    if (!*done) return error_response(404, "no peer with id " + std::to_string(*id));
    return json_response(200, {{"removed", *id}});
  }
  if (path == "/api/v1/audit") {
    if (method != "GET") return method_not_allowed("GET");
    auto entries = store_.list_audit(audit_limit(query));
    if (!entries) return internal_error(entries.error());
    json out = json::array();
    for (const auto& e : *entries) {
      out.push_back({{"id", e.id},
                     {"at", e.at_unix},
                     {"actor", e.actor},
                     {"action", e.action},
                     {"detail", e.detail}});
    }
    return json_response(200, {{"audit", std::move(out)}});
  }
  return error_response(404, "no such endpoint");
}

Result<std::optional<std::string>> ensure_admin_token(Store& store, int64_t now_unix) {
  auto existing = store.setting("admin_token_sha256");
  if (!existing) return tl::unexpected(existing.error());
  if (*existing) return std::optional<std::string>();
  std::string token = generate_secret(kAdminTokenPrefix);
  const auto hash = hash_secret(token);
  // Insert-if-absent: of two servers starting together on one database, one token wins and
  // only its server prints it.
  auto inserted = store.insert_setting("admin_token_sha256", to_hex(hash));
  if (!inserted) return tl::unexpected(inserted.error());
  if (!*inserted) return std::optional<std::string>();
  if (auto st = store.audit(now_unix, "server", "token.create", "admin token created"); !st) {
    return tl::unexpected(st.error());
  }
  return std::optional<std::string>(std::move(token));
}

Result<crypto::Sha256Digest> admin_token_hash(Store& store) {
  auto hex = store.setting("admin_token_sha256");
  if (!hex) return tl::unexpected(hex.error());
  crypto::Sha256Digest out{};
  size_t len = 0;
  (void)crypto::ensure_sodium();
  if (!*hex ||
      sodium_hex2bin(out.data(), out.size(), (*hex)->data(), (*hex)->size(), nullptr, &len,
                     nullptr) != 0 ||
      len != out.size()) {
    return fail("the admin token is missing from the data directory: start the server once");
  }
  return out;
}

}  // namespace tern::control
