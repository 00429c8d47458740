#include "cli/main.hpp"

int main(int argc, char** argv) {
  return tern::cli::run(argc, argv);
}
