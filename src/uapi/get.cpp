#include "uapi/get.hpp"

#include "crypto/key_encoding.hpp"
#include "uapi/error.hpp"

namespace tern::uapi {
namespace {

void line(std::string& out, std::string_view key, std::string_view value) {
  out.append(key);
  out.push_back('=');
  out.append(value);
  out.push_back('\n');
}

template <class Int>
void number(std::string& out, std::string_view key, Int value) {
  line(out, key, std::to_string(value));
}

}  // namespace

std::string format_get(const DeviceSnapshot& device) {
  std::string out;
  out.reserve(128 + device.peers.size() * 400);
  if (device.private_key && *device.private_key != crypto::Key{}) {
    line(out, "private_key", crypto::key_to_hex(*device.private_key));
  }
  if (device.listen_port != 0) number(out, "listen_port", device.listen_port);
  if (device.fwmark != 0) number(out, "fwmark", device.fwmark);
  for (const PeerSnapshot& p : device.peers) {
    line(out, "public_key", crypto::key_to_hex(p.public_key));
    line(out, "preshared_key", crypto::key_to_hex(p.preshared_key.value_or(crypto::Key{})));
    line(out, "protocol_version", "1");
    if (p.endpoint) line(out, "endpoint", p.endpoint->to_string());
    number(out, "last_handshake_time_sec", p.last_handshake_time_sec);
    number(out, "last_handshake_time_nsec", p.last_handshake_time_nsec);
    number(out, "tx_bytes", p.tx_bytes);
    number(out, "rx_bytes", p.rx_bytes);
    number(out, "persistent_keepalive_interval", p.persistent_keepalive_interval);
    for (const IpPrefix& a : p.allowed_ips)
      line(out, "allowed_ip", a.to_string());
  }
  out += format_errno(0);
  return out;
}

}  // namespace tern::uapi
