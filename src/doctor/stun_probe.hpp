// The STUN Binding exchanges of `tern doctor nat` (RFC 5780 §4): a request that may ask the
// server to answer from its other address or port (CHANGE-REQUEST) or to another port of
// ours (RESPONSE-PORT), and the reading of an answer. An answer is untrusted input: whatever
// it holds, read_binding_answer says what is wrong with it instead of failing hard.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/ip.hpp"
#include "wire/stun.hpp"
#include "wire/stun_attributes.hpp"

namespace tern::doctor {

struct BindingRequest {
  wire::TransactionId id{};
  std::optional<wire::ChangeRequest> change;  // RFC 5780 §7.2
  std::optional<uint16_t> response_port;      // RFC 5780 §7.5
};

// The request's bytes (with SOFTWARE and FINGERPRINT).
[[nodiscard]] std::vector<uint8_t> build_binding_request(const BindingRequest& r);

struct BindingAnswer {
  Endpoint mapped;                          // XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS
  std::optional<Endpoint> other_address;    // OTHER-ADDRESS: the server's second address
  std::optional<Endpoint> response_origin;  // RESPONSE-ORIGIN: where the server answered from
};

enum class AnswerKind : uint8_t {
  kNotOurs,    // not STUN, or another transaction: ignore it
  kAnswer,     // a success response with a mapped address
  kError,      // an error response (detail: code and reason)
  kMalformed,  // ours by transaction ID but unreadable (detail says how)
};

struct AnswerRead {
  AnswerKind kind = AnswerKind::kNotOurs;
  std::optional<BindingAnswer> answer;
  std::string detail;
};

// Reads `datagram` as the answer to transaction `id`.
[[nodiscard]] AnswerRead read_binding_answer(Bytes datagram, const wire::TransactionId& id);

}  // namespace tern::doctor
