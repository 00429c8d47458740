// Fuzzes the WireGuard message codec: whatever classify() accepts must parse, and
// serialising the parsed message must give back the input byte for byte.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "wire/wireguard.hpp"

using namespace tern;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

template <class M>
void round_trip(const std::optional<M>& m, Bytes input) {
  require(m.has_value());
  std::vector<uint8_t> out(input.size());
  require(wire::serialize(*m, out) == input.size());
  require(std::memcmp(out.data(), input.data(), input.size()) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Bytes in(data, size);
  const auto type = wire::classify(in);
  // Parsers agree with the classifier on every input.
  require(wire::parse_initiation(in).has_value() == (type == wire::MessageType::kInitiation));
  require(wire::parse_response(in).has_value() == (type == wire::MessageType::kResponse));
  require(wire::parse_cookie_reply(in).has_value() == (type == wire::MessageType::kCookieReply));
  require(wire::parse_transport(in).has_value() == (type == wire::MessageType::kTransport));
  (void)wire::sender_index_of(in);
  (void)wire::receiver_index_of(in);
  if (!type) return 0;

  switch (*type) {
    case wire::MessageType::kInitiation:
      round_trip(wire::parse_initiation(in), in);
      require(wire::sender_index_of(in).has_value());
      break;
    case wire::MessageType::kResponse:
      round_trip(wire::parse_response(in), in);
      require(wire::receiver_index_of(in) == wire::parse_response(in)->receiver_index);
      break;
    case wire::MessageType::kCookieReply:
      round_trip(wire::parse_cookie_reply(in), in);
      break;
    case wire::MessageType::kTransport: {
      auto v = wire::parse_transport(in);
      require(v.has_value());
      require(v->encrypted.data() == data + wire::kTransportHeaderSize);
      require(v->encrypted.size() == size - wire::kTransportHeaderSize);
      uint8_t header[wire::kTransportHeaderSize];
      require(wire::serialize_transport_header(v->receiver_index, v->counter, header) ==
              sizeof header);
      require(std::memcmp(header, data, sizeof header) == 0);
      break;
    }
  }
  return 0;
}
