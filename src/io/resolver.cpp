#include "io/resolver.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "io/fd.hpp"
#include "io/sys_error.hpp"

namespace tern::io {

struct Resolver::Shared {
  std::mutex mu;
  std::condition_variable wake;
  std::deque<std::pair<uint64_t, std::string>> requests;
  std::vector<Answer> answers;
  bool stop = false;
  UniqueFd event;
  Lookup lookup;
};

namespace {

void work(const std::shared_ptr<Resolver::Shared>& sh) {
  // Signals stay with the loop's thread (its signalfd), whatever mask this thread inherited.
  sigset_t all;
  sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, nullptr);
  std::unique_lock lock(sh->mu);
  for (;;) {
    sh->wake.wait(lock, [&] { return sh->stop || !sh->requests.empty(); });
    if (sh->stop) return;
    auto [id, name] = std::move(sh->requests.front());
    sh->requests.pop_front();
    lock.unlock();
    Result<Endpoint> endpoint = sh->lookup(name);
    lock.lock();
    if (sh->stop) return;
    sh->answers.push_back(Resolver::Answer{id, std::move(name), std::move(endpoint)});
    const uint64_t one = 1;
    // Cannot fail short of a bug: the counter is far from overflowing.
    (void)!::write(sh->event.get(), &one, sizeof one);
  }
}

}  // namespace

Result<Resolver> Resolver::create(Lookup lookup) {
  auto sh = std::make_shared<Shared>();
  sh->event.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!sh->event) {
    const int err = errno;
    return fail("eventfd for the resolver failed: " + errno_text(err));
  }
  sh->lookup = std::move(lookup);
  try {
    std::thread(work, sh).detach();
  } catch (const std::system_error& e) {
    return fail(std::string("cannot start the resolver thread: ") + e.what());
  }
  return Resolver(std::move(sh));
}

Resolver::Resolver(Resolver&& other) noexcept
    : shared_(std::move(other.shared_)), next_id_(other.next_id_) {}

Resolver::~Resolver() {
  if (!shared_) return;
  {
    std::lock_guard lock(shared_->mu);
    shared_->stop = true;
    shared_->requests.clear();
  }
  shared_->wake.notify_one();
}

uint64_t Resolver::submit(std::string name) {
  const uint64_t id = next_id_++;
  {
    std::lock_guard lock(shared_->mu);
    shared_->requests.emplace_back(id, std::move(name));
  }
  shared_->wake.notify_one();
  return id;
}

int Resolver::fd() const {
  return shared_->event.get();
}

std::vector<Resolver::Answer> Resolver::take() {
  uint64_t count = 0;
  (void)!::read(shared_->event.get(), &count, sizeof count);  // EAGAIN: nothing yet
  std::lock_guard lock(shared_->mu);
  return std::exchange(shared_->answers, {});
}

}  // namespace tern::io
