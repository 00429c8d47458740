#include "relay/five_tuple.hpp"

namespace tern::relay {

std::string FiveTuple::to_string() const {
  std::string out(transport_name(transport));
  out += ' ';
  out += client.to_string();
  out += " -> ";
  out += server.to_string();
  return out;
}

}  // namespace tern::relay
