// Name lookups off the event loop. getaddrinfo blocks for as long as the system's resolver
// takes (seconds, with a dead DNS server), and the agent's one loop also carries the data
// plane: a worker thread runs each lookup and hands the answer back through an eventfd that
// the poller watches. The loop only submits names and takes answers; it never waits.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/ip.hpp"
#include "base/result.hpp"

namespace tern::io {

class Resolver {
 public:
  // The blocking lookup the worker runs ("host:port" -> an address).
  using Lookup = std::function<Result<Endpoint>(const std::string&)>;

  struct Answer {
    uint64_t id = 0;  // what submit() returned
    std::string name;
    Result<Endpoint> endpoint;
  };

  [[nodiscard]] static Result<Resolver> create(Lookup lookup);
  // Does not wait for a lookup in progress: the worker finishes it alone, drops the answer
  // and exits (a stuck getaddrinfo must not hold up the agent's shutdown).
  ~Resolver();
  Resolver(Resolver&&) noexcept;
  Resolver& operator=(Resolver&&) = delete;
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Queues a lookup (one at a time, in order); its answer carries the returned id.
  uint64_t submit(std::string name);
  // Readable while answers wait: watch it with the poller.
  int fd() const;
  // The answers that are ready, oldest first; clears fd()'s readiness. Never blocks.
  [[nodiscard]] std::vector<Answer> take();

  struct Shared;  // the queues, shared with the worker (which may outlive this object)

 private:
  explicit Resolver(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  std::shared_ptr<Shared> shared_;
  uint64_t next_id_ = 1;
};

}  // namespace tern::io
