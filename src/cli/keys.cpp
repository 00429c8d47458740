// genkey, genpsk, pubkey: interchangeable with `wg genkey`, `wg genpsk`, `wg pubkey`.
#include <cstdio>
#include <iostream>
#include <string>

#include "cli/commands.hpp"
#include "crypto/key_encoding.hpp"
#include "crypto/random.hpp"
#include "crypto/x25519.hpp"

namespace tern::cli {

int cmd_genkey() {
  std::printf("%s\n", crypto::key_to_base64(crypto::generate_private_key()).c_str());
  return 0;
}

int cmd_genpsk() {
  crypto::Key k;
  crypto::random_bytes(k);
  std::printf("%s\n", crypto::key_to_base64(k).c_str());
  return 0;
}

int cmd_pubkey() {
  std::string line;
  std::getline(std::cin, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.pop_back();
  }
  auto key = crypto::key_from_base64(line);
  if (!key) {
    std::fprintf(stderr, "tern: a private key on stdin was expected: %s\n",
                 key.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", crypto::key_to_base64(
                          crypto::public_key_from_private(crypto::clamp_private_key(*key)))
                          .c_str());
  return 0;
}

}  // namespace tern::cli
