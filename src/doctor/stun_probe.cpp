#include "doctor/stun_probe.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "wire/stun_builder.hpp"

namespace tern::doctor {

std::vector<uint8_t> build_binding_request(const BindingRequest& r) {
  std::vector<uint8_t> out(wire::kStunMaxUdpMessage);
  wire::StunBuilder b(out, wire::StunMethod::kBinding, wire::StunClass::kRequest, r.id);
  if (r.change) b.add_change_request(*r.change);
  if (r.response_port) {
    // RESPONSE-PORT: the port, then two bytes of padding (RFC 5780 §7.5).
    const uint8_t v[4] = {static_cast<uint8_t>(*r.response_port >> 8),
                          static_cast<uint8_t>(*r.response_port), 0, 0};
    b.add(wire::StunAttr::kResponsePort, Bytes(v, 4));
  }
  b.add_text(wire::StunAttr::kSoftware, "tern doctor").add_fingerprint();
  out.resize(b.size());
  return out;
}

AnswerRead read_binding_answer(Bytes datagram, const wire::TransactionId& id) {
  AnswerRead out;
  auto m = wire::StunMessage::parse(datagram);
  if (!m) {
    // A datagram that carries our transaction ID at the usual place but does not parse is a
    // broken answer, not somebody else's packet.
    if (datagram.size() >= wire::kStunHeaderSize &&
        std::equal(id.begin(), id.end(), datagram.begin() + 8)) {
      out.kind = AnswerKind::kMalformed;
      out.detail =
          fmt::format("unreadable STUN answer ({})", wire::stun_parse_error_name(m.error()));
    }
    return out;
  }
  if (m->transaction_id() != id || m->method() != wire::StunMethod::kBinding) return out;
  if (m->is_error()) {
    out.kind = AnswerKind::kError;
    auto code = m->find(wire::StunAttr::kErrorCode);
    auto e = code ? wire::decode_error_code(code->value) : std::nullopt;
    out.detail = e ? fmt::format("error {} {}", e->code, e->reason) : "an error without ERROR-CODE";
    return out;
  }
  if (!m->is_success()) return out;
  std::optional<Endpoint> mapped;
  if (auto a = m->find(wire::StunAttr::kXorMappedAddress)) {
    mapped = wire::decode_xor_address(a->value, id);
  } else if (auto b = m->find(wire::StunAttr::kMappedAddress)) {
    mapped = wire::decode_address(b->value);
  }
  if (!mapped) {
    out.kind = AnswerKind::kMalformed;
    out.detail = "a Binding response without a readable (XOR-)MAPPED-ADDRESS";
    return out;
  }
  BindingAnswer a{*mapped, std::nullopt, std::nullopt};
  if (auto o = m->find(wire::StunAttr::kOtherAddress))
    a.other_address = wire::decode_address(o->value);
  if (auto o = m->find(wire::StunAttr::kResponseOrigin)) {
    a.response_origin = wire::decode_address(o->value);
  }
  out.kind = AnswerKind::kAnswer;
  out.answer = a;
  return out;
}

}  // namespace tern::doctor
