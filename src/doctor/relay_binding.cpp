#include "doctor/relay_binding.hpp"

#include <fmt/format.h>

#include "crypto/random.hpp"
#include "doctor/stun_probe.hpp"

namespace tern::doctor {

RelayBinding::RelayBinding(Instant now, core::StunTransport transport,
                           const core::RetransmitPolicy& policy)
    : timer(transport, now, policy), first(now) {
  crypto::random_bytes(id);
  message = build_binding_request(BindingRequest{id, std::nullopt, std::nullopt});
}

void RelayBinding::receive(const Endpoint& from, const Endpoint& server, Bytes data, Instant now) {
  if (done()) return;
  AnswerRead read = read_binding_answer(data, id);
  switch (read.kind) {
    case AnswerKind::kNotOurs:
      return;
    case AnswerKind::kMalformed:
      ++unusable.malformed;
      unusable.last = read.detail;
      return;  // a good answer may still come
    case AnswerKind::kError:
    case AnswerKind::kAnswer:
      break;
  }
  if (from != server) {
    ++unusable.wrong_source;
    unusable.last =
        fmt::format("an answer from {}, not from {}", from.to_string(), server.to_string());
    return;
  }
  if (read.kind == AnswerKind::kError) {
    error = "the server answered the Binding request with " + core::clean_server_text(read.detail);
    return;
  }
  mapped = read.answer->mapped;
  rtt = now - first;
}

}  // namespace tern::doctor
