// The keys of [Control] (docs/config.md): where the control server is and how to trust it.
#include "config/values.hpp"

namespace tern::config::detail {

Status control_key(ControlConfig& control, std::string_view key, std::string_view value) {
  if (value.empty()) {
    return fail(std::string(key) + " has no value; write " + std::string(key) +
                " = VALUE, or remove the line");
  }
  if (iequals(key, "Server")) {
    if (!value.starts_with("https://") && !value.starts_with("http://")) {
      return fail("Server is the control server's URL: https://HOST:PORT");
    }
    control.server = std::string(value);
  } else if (iequals(key, "SetupKey")) {
    if (!value.starts_with("tsk_")) {
      return fail("SetupKey is a key from `tern control keys create` (it starts with tsk_)");
    }
    control.setup_key = std::string(value);
  } else if (iequals(key, "CA")) {
    control.ca_file = std::string(value);
  } else if (iequals(key, "State")) {
    control.state_dir = std::string(value);
  } else if (iequals(key, "Name")) {
    control.name = std::string(value);
  } else {
    return fail("unknown key '" + std::string(key.substr(0, 40)) +
                "' in [Control]; the keys of [Control] are Server, SetupKey, CA, State, Name");
  }
  return {};
}

}  // namespace tern::config::detail
