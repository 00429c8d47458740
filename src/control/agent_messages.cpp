#include "control/agent_messages.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "control/api_requests.hpp"
#include "crypto/key_encoding.hpp"

namespace tern::control {
namespace {

using json = nlohmann::json;

Result<std::string> text_field(const json& j, const char* name, bool required = true) {
  const auto it = j.find(name);
  if (it == j.end()) {
    if (required) return fail(std::string("\"") + name + "\" is missing");
    return std::string();
  }
  if (!it->is_string()) return fail(std::string("\"") + name + "\" is not a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > kMaxFieldLength) return fail(std::string("\"") + name + "\" is too long");
  return s;
}

Result<int64_t> integer_field(const json& j, const char* name) {
  const auto it = j.find(name);
  if (it == j.end() || !it->is_number_integer()) {
    return fail(std::string("\"") + name + "\" is not an integer");
  }
  return it->get<int64_t>();
}

Result<crypto::Key> key_field(const json& j, const char* name) {
  auto text = text_field(j, name);
  if (!text) return tl::unexpected(text.error());
  auto key = crypto::key_from_base64(*text);
  if (!key) return fail(std::string("\"") + name + "\": " + key.error().message);
  return *key;
}

Result<IpAddress> address_field(const json& j, const char* name, bool v4) {
  auto text = text_field(j, name);
  if (!text) return tl::unexpected(text.error());
  auto a = IpAddress::parse(*text);
  if (!a || a->is_v4() != v4) return fail(std::string("\"") + name + "\" is not an address");
  return *a;
}

Result<IpPrefix> prefix_field(const json& j, const char* name, bool v4) {
  auto text = text_field(j, name);
  if (!text) return tl::unexpected(text.error());
  auto p = IpPrefix::parse(*text);
  if (!p || p->address.is_v4() != v4) return fail(std::string("\"") + name + "\" is not a prefix");
  return *p;
}

Result<MapPeer> parse_peer(const json& j) {
  if (!j.is_object()) return fail("a peer is not an object");
  MapPeer p;
  auto key = key_field(j, "public_key");
  if (!key) return tl::unexpected(key.error());
  p.public_key = *key;
  auto name = text_field(j, "name", false);
  if (!name) return tl::unexpected(name.error());
  p.name = std::move(*name);
  auto v4 = address_field(j, "ipv4", true);
  if (!v4) return tl::unexpected(v4.error());
  p.ipv4 = *v4;
  auto v6 = address_field(j, "ipv6", false);
  if (!v6) return tl::unexpected(v6.error());
  p.ipv6 = *v6;
  if (auto it = j.find("endpoints"); it != j.end()) {
    if (!it->is_array() || it->size() > kMaxEndpoints) {
      return fail("\"endpoints\" is not an array of up to 16 strings");
    }
    for (const auto& e : *it) {
      if (!e.is_string()) return fail("an endpoint is not a string");
      auto ep = Endpoint::parse(e.get_ref<const std::string&>());
      if (!ep || ep->port == 0) return fail("an endpoint is not ADDR:PORT");
      p.endpoints.push_back(*ep);
    }
  }
  if (auto it = j.find("tags"); it != j.end()) {
    if (!it->is_array() || it->size() > kMaxMapTags) return fail("\"tags\" is not an array");
    for (const auto& t : *it) {
      if (!t.is_string() || t.get_ref<const std::string&>().size() > kMaxFieldLength) {
        return fail("a tag is not a short string");
      }
      p.tags.push_back(t.get<std::string>());
    }
  }
  return p;
}

Result<MapRelay> parse_relay(const json& j) {
  if (!j.is_object()) return fail("a relay is not an object");
  MapRelay r;
  for (auto [name, field] : {std::pair{"url", &r.url}, std::pair{"username", &r.username},
                             std::pair{"password", &r.password}}) {
    auto text = text_field(j, name);
    if (!text) return tl::unexpected(text.error());
    *field = std::move(*text);
  }
  auto expires = integer_field(j, "expires");
  if (!expires) return tl::unexpected(expires.error());
  r.expires_unix = *expires;
  return r;
}

Result<std::vector<MapPeer>> parse_peers(const json& j, const char* name) {
  const auto it = j.find(name);
  if (it == j.end() || !it->is_array() || it->size() > kMaxMapPeers) {
    return fail(std::string("\"") + name + "\" is not an array of peers");
  }
  std::vector<MapPeer> out;
  out.reserve(it->size());
  for (const auto& pj : *it) {
    auto p = parse_peer(pj);
    if (!p) return tl::unexpected(p.error());
    out.push_back(std::move(*p));
  }
  return out;
}

Result<std::vector<MapRelay>> parse_relays(const json& j) {
  const auto it = j.find("relays");
  if (it == j.end() || !it->is_array() || it->size() > kMaxMapRelays) {
    return fail("\"relays\" is not an array of relays");
  }
  std::vector<MapRelay> out;
  for (const auto& rj : *it) {
    auto r = parse_relay(rj);
    if (!r) return tl::unexpected(r.error());
    out.push_back(std::move(*r));
  }
  return out;
}

bool by_key(const MapPeer& a, const MapPeer& b) {
  return a.public_key < b.public_key;
}

Result<MapDelta> parse_delta(const json& j) {
  MapDelta d;
  auto from = integer_field(j, "from");
  if (!from) return tl::unexpected(from.error());
  auto to = integer_field(j, "to");
  if (!to) return tl::unexpected(to.error());
  d.from_revision = *from;
  d.to_revision = *to;
  if (j.contains("self")) {
    auto self = parse_peer(j.at("self"));
    if (!self) return tl::unexpected(self.error());
    d.self = std::move(*self);
  }
  auto up = parse_peers(j, "upserted");
  if (!up) return tl::unexpected(up.error());
  d.upserted = std::move(*up);
  const auto removed = j.find("removed");
  if (removed == j.end() || !removed->is_array() || removed->size() > kMaxMapPeers) {
    return fail("\"removed\" is not an array of keys");
  }
  for (const auto& k : *removed) {
    if (!k.is_string()) return fail("a removed key is not a string");
    auto key = crypto::key_from_base64(k.get_ref<const std::string&>());
    if (!key) return fail("a removed key: " + key.error().message);
    d.removed.push_back(*key);
  }
  if (j.contains("relays")) {
    auto relays = parse_relays(j);
    if (!relays) return tl::unexpected(relays.error());
    d.relays = std::move(*relays);
  }
  return d;
}

}  // namespace

std::string register_request_json(std::string_view setup_key, const crypto::Key& public_key,
                                  std::string_view name, const std::vector<Endpoint>& endpoints) {
  json j = {{"setup_key", setup_key}, {"public_key", crypto::key_to_base64(public_key)}};
  if (!name.empty()) j["name"] = name;
  json eps = json::array();
  for (size_t i = 0; i < endpoints.size() && i < kMaxEndpoints; ++i)
    eps.push_back(endpoints[i].to_string());
  j["endpoints"] = std::move(eps);
  return j.dump();
}

Result<NetworkMap> parse_map(const json& j) {
  if (!j.is_object()) return fail("the map is not a JSON object");
  NetworkMap m;
  auto revision = integer_field(j, "revision");
  if (!revision) return tl::unexpected(revision.error());
  m.revision = *revision;
  const auto self = j.find("self");
  if (self == j.end()) return fail("the map has no \"self\"");
  auto me = parse_peer(*self);
  if (!me) return fail("\"self\": " + me.error().message);
  m.self = std::move(*me);
  auto v4 = prefix_field(j, "v4", true);
  if (!v4) return tl::unexpected(v4.error());
  auto v6 = prefix_field(j, "v6", false);
  if (!v6) return tl::unexpected(v6.error());
  m.v4 = *v4;
  m.v6 = *v6;
  auto peers = parse_peers(j, "peers");
  if (!peers) return tl::unexpected(peers.error());
  m.peers = std::move(*peers);
  // apply_delta relies on the order; one key twice would be two device peers in one.
  std::sort(m.peers.begin(), m.peers.end(), by_key);
  auto dup = std::adjacent_find(m.peers.begin(), m.peers.end(), [](const auto& a, const auto& b) {
    return a.public_key == b.public_key;
  });
  if (dup != m.peers.end()) return fail("the map lists a peer twice");
  auto relays = parse_relays(j);
  if (!relays) return tl::unexpected(relays.error());
  m.relays = std::move(*relays);
  return m;
}

Result<NetworkMap> parse_map_text(std::string_view text) {
  const auto j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return fail("the map is not JSON");
  return parse_map(j);
}

Result<RegisterAnswer> parse_register_answer(std::string_view body, const crypto::Key& own_key) {
  const auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("the register answer is not a JSON object");
  RegisterAnswer a;
  auto token = text_field(j, "stream_token");
  if (!token) return tl::unexpected(token.error());
  if (!token->starts_with("tpt_")) return fail("\"stream_token\" is not a tpt_ token");
  a.stream_token = std::move(*token);
  const auto map = j.find("map");
  if (map != j.end()) {
    auto m = parse_map(*map);
    if (!m) return tl::unexpected(m.error());
    if (m->self.public_key != own_key) return fail("the map's \"self\" is another peer");
    a.ipv4 = m->self.ipv4;
    a.map = std::move(*m);
    return a;
  }
  const auto peer = j.find("peer");
  if (peer == j.end() || !peer->is_object()) return fail("the register answer has no \"peer\"");
  auto key = key_field(*peer, "public_key");
  if (!key) return fail("\"peer\": " + key.error().message);
  if (*key != own_key) return fail("the answer's \"peer\" is another machine");
  auto v4 = address_field(*peer, "ipv4", true);
  if (!v4) return fail("\"peer\": " + v4.error().message);
  a.ipv4 = *v4;
  return a;
}

Result<StreamMessage> parse_stream_message(std::string_view text) {
  const auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("a stream message is not a JSON object");
  const auto type = j.find("type");
  if (type == j.end() || !type->is_string()) return fail("a stream message has no \"type\"");
  const auto& t = type->get_ref<const std::string&>();
  if (t == "map") {
    auto m = parse_map(j);
    if (!m) return tl::unexpected(m.error());
    return StreamMessage{std::move(*m)};
  }
  if (t == "delta") {
    auto d = parse_delta(j);
    if (!d) return tl::unexpected(d.error());
    return StreamMessage{std::move(*d)};
  }
  if (t == "removed") return StreamMessage{StreamRemoved{}};
  return fail("unknown stream message type");
}

std::string endpoints_message(const std::vector<Endpoint>& endpoints) {
  json eps = json::array();
  for (size_t i = 0; i < endpoints.size() && i < kMaxEndpoints; ++i)
    eps.push_back(endpoints[i].to_string());
  return json{{"type", "endpoints"}, {"endpoints", std::move(eps)}}.dump();
}

}  // namespace tern::control
