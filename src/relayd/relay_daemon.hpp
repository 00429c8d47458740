// `tern relay` as a process: the shared state, the listener groups, and one RelayLoop per
// thread (relay_loop.hpp; --threads, by default one per CPU). Loop 0 runs on the calling
// thread and handles SIGINT/SIGTERM; the others stop with it.
#pragma once

#include <memory>

#include "base/result.hpp"
#include "relayd/options.hpp"

namespace tern::relayd {

class RelayDaemon {
 public:
  // Binds every listener of every loop, the metrics endpoint and the signal fd; fails naming
  // the option whose address cannot be used.
  [[nodiscard]] static Result<std::unique_ptr<RelayDaemon>> start(const RelaydConfig& config);
  ~RelayDaemon();
  RelayDaemon(const RelayDaemon&) = delete;
  RelayDaemon& operator=(const RelayDaemon&) = delete;

  // Runs until SIGINT or SIGTERM; every allocation's socket is closed on return.
  [[nodiscard]] Status run();

  struct State;

 private:
  explicit RelayDaemon(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace tern::relayd
