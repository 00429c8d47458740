// The agent's side of the control protocol (docs/control.md), sans-I/O: the register
// request it sends and the answer it gets, the messages of its map stream ("map", "delta",
// "removed") and the endpoints report it sends back. Every field of every message is
// checked: the server is trusted with the map, not with the agent's memory.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/ip.hpp"
#include "base/result.hpp"
#include "control/network_map.hpp"
#include "crypto/key.hpp"

namespace tern::control {

// Bounds on what the agent accepts, far above any real network.
inline constexpr size_t kMaxMapPeers = 65536;
inline constexpr size_t kMaxMapRelays = 64;
inline constexpr size_t kMaxMapTags = 64;
inline constexpr size_t kMaxFieldLength = 1024;

[[nodiscard]] std::string register_request_json(std::string_view setup_key,
                                                const crypto::Key& public_key,
                                                std::string_view name,
                                                const std::vector<Endpoint>& endpoints);

struct RegisterAnswer {
  std::optional<NetworkMap> map;  // servers before the map came only by stream sent one
  IpAddress ipv4;                 // the machine's overlay address
  std::string stream_token;       // "tpt_..."
};
// The body of a 200/201 answer to POST /api/v1/register. `own_key` must be the map's self,
// or the "peer" record's key when there is no map (the stream's first message brings it).
[[nodiscard]] Result<RegisterAnswer> parse_register_answer(std::string_view body,
                                                           const crypto::Key& own_key);

// A full map as map_json() writes it (also the cached map in the agent's state directory).
[[nodiscard]] Result<NetworkMap> parse_map(const nlohmann::json& j);
[[nodiscard]] Result<NetworkMap> parse_map_text(std::string_view text);

struct StreamRemoved {};  // this agent's peer was removed from the network
using StreamMessage = std::variant<NetworkMap, MapDelta, StreamRemoved>;
[[nodiscard]] Result<StreamMessage> parse_stream_message(std::string_view text);

// {"type": "endpoints", "endpoints": [...]}: at most kMaxEndpoints (16) are sent.
[[nodiscard]] std::string endpoints_message(const std::vector<Endpoint>& endpoints);

}  // namespace tern::control
