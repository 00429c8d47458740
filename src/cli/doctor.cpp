// `tern doctor`: one subcommand per check; each lives in its own file
// (doctor_<check>.cpp) and registers itself here. Alone, it runs them all (doctor_all.cpp).
#include "cli/doctor.hpp"

namespace tern::cli {

void add_doctor_command(CLI::App& app) {
  auto* doctor = app.add_subcommand(
      "doctor", "Check the things tern depends on and say what is wrong, with the fix");
  doctor->require_subcommand(0, 1);
  add_doctor_relay(*doctor);
  add_doctor_nat(*doctor);
  add_doctor_wg(*doctor);
  add_doctor_mtu(*doctor);
  add_doctor_routes(*doctor);
  add_doctor_all(*doctor);
}

}  // namespace tern::cli
