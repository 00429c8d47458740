#include "io/run_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "io/clock.hpp"
#include "io/fd.hpp"
#include "io/sys_error.hpp"

extern char** environ;

namespace tern::io {
namespace {

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail("creating a pipe: " + errno_text(errno));
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

Result<CommandOutput> run_command(const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout, size_t max_output) {
  if (argv.empty()) return fail("run_command: no program");
  auto out_pipe = make_pipe();
  if (!out_pipe) return tl::unexpected(out_pipe.error());
  auto err_pipe = make_pipe();
  if (!err_pipe) return tl::unexpected(err_pipe.error());
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe->write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe->write.get(), STDERR_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  CommandOutput result;
  if (rc == ENOENT) {
    result.not_found = true;
    return result;
  }
  if (rc != 0) return fail("starting " + argv[0] + ": " + errno_text(rc));
  out_pipe->write.reset();
  err_pipe->write.reset();
  const auto deadline = monotonic_now() + timeout;
  pollfd fds[2] = {{out_pipe->read.get(), POLLIN, 0}, {err_pipe->read.get(), POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  std::string problem;
  char buf[16384];
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - monotonic_now());
    if (left.count() <= 0) {
      problem = argv[0] + " did not finish in time";
      break;
    }
    const int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) {
      problem = "waiting for " + argv[0] + ": " + errno_text(errno);
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got <= 0) {
        if (got < 0 && errno == EINTR) continue;
        fds[i].fd = -1;
        continue;
      }
      sinks[i]->append(buf, static_cast<size_t>(got));
      if (sinks[i]->size() > max_output) problem = argv[0] + " printed too much";
    }
    if (!problem.empty()) break;
  }
  if (!problem.empty()) {
    ::kill(pid, SIGKILL);
    wait_child(pid);
    return fail(problem);
  }
  result.exit_status = wait_child(pid);
  return result;
}

}  // namespace tern::io
