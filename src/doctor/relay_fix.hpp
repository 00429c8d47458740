// The fix the doctor prints for each kind of TURN failure: one line an operator can act
// on, next to the client's own message (which names the cause).
#pragma once

#include <string>

#include "core/turn_errors.hpp"
#include "doctor/turn_url.hpp"

namespace tern::doctor {

[[nodiscard]] std::string fix_for(core::TurnErrorKind kind, const TurnUrl& url);
// Whether the server got as far as checking the credentials before this error.
[[nodiscard]] bool is_authentication_error(core::TurnErrorKind kind);
[[nodiscard]] bool implies_authenticated(core::TurnErrorKind kind);

}  // namespace tern::doctor
