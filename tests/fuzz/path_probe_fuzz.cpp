// Fuzzes path probes as a receiver meets them: the demultiplexer's test, the header and body
// codecs, and opening with the keys of two fixed peers A (private key 0x11..) and B (0x22..).
// The seed corpus holds probes sealed with those keys, so mutations reach the AEAD and the
// body parser. Whatever parses must serialise back to the same bytes; whatever opens must be
// exactly what sealing the opened contents with the same nonce gives.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "noise/path_probe_crypto.hpp"

using namespace tern;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

crypto::Key filled(uint8_t v) {
  crypto::Key k;
  k.fill(v);
  return k;
}

struct Peers {
  noise::LocalIdentity a = noise::LocalIdentity::from_private(filled(0x11));
  noise::LocalIdentity b = noise::LocalIdentity::from_private(filled(0x22));
  noise::PathProbeKeys b_from_a = *noise::derive_path_probe_keys(b, a.public_key);
  noise::PathProbeKeys a_from_b = *noise::derive_path_probe_keys(a, b.public_key);
};

const Peers& peers() {
  static const Peers p;
  return p;
}

// `receiver` opens; `sender` (the other side's keys) seals again.
void check_open(const noise::PathProbeKeys& receiver, const noise::PathProbeKeys& sender, Bytes in,
                const wire::PathProbeView& view) {
  std::vector<uint8_t> plain(in.size());
  auto opened = noise::open_path_probe(receiver, in, plain);
  if (!opened) return;
  require(opened->type == view.header.type && opened->size == in.size());
  std::vector<uint8_t> again(in.size());
  require(noise::seal_path_probe(sender, opened->type, opened->body, in.size(), view.header.nonce,
                                 again) == in.size());
  require(std::memcmp(again.data(), in.data(), in.size()) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Bytes in(data, size);
  const Peers& p = peers();

  // Any prefix of the input may be a body.
  if (auto body = wire::parse_path_probe_body(in)) {
    uint8_t out[wire::kPathProbeBodySize];
    require(wire::serialize_path_probe_body(*body, out) == sizeof out);
    require(std::memcmp(out, data, sizeof out) == 0);
  }

  auto view = wire::parse_path_probe(in);
  require(!view || wire::is_path_probe(in));
  if (!view) return 0;
  require(view->header_bytes.data() == data && view->header_bytes.size() == 40);
  require(view->sealed.size() == size - wire::kPathProbeHeaderSize);
  uint8_t header[wire::kPathProbeHeaderSize];
  require(wire::serialize_path_probe_header(view->header, header) == sizeof header);
  require(std::memcmp(header, data, sizeof header) == 0);

  check_open(p.b_from_a, p.a_from_b, in, *view);
  check_open(p.a_from_b, p.b_from_a, in, *view);
  return 0;
}
