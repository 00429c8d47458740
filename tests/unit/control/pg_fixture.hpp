// A throwaway PostgreSQL server for the store tests: initdb and pg_ctl (Debian's
// postgresql package) in a temporary directory, listening only on a unix socket there,
// as an unprivileged user (postgres when the tests run as root). Started on first use,
// stopped when the test binary ends. When it cannot start, tests skip with the reason.
#pragma once

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>

#include "control/pg_conn.hpp"

namespace tern::control::testing {

class PgServer {
 public:
  static constexpr const char* kBin = "/usr/lib/postgresql/15/bin";

  // The binary's server, started at the first call; nullptr (see skip_reason()) when it
  // cannot run here.
  static PgServer* get() {
    static std::unique_ptr<PgServer> server = start();
    return server.get();
  }
  static std::string& skip_reason() {
    static std::string reason;
    return reason;
  }
  // Stops the server now (the binary's end); get() returns nullptr afterwards.
  static void stop_shared() {
    if (auto* s = get()) s->stop();
  }

  ~PgServer() { stop(); }

  // A URL for database `db` on this server.
  std::string url(const std::string& db) const {
    return "postgresql:///" + db + "?host=" + dir_ + "&port=" + std::to_string(port_) +
           "&user=tern&sslmode=disable&gssencmode=disable";
  }
  // A fresh empty database; returns its URL ("" on failure, with `error` set).
  std::string create_database(std::string* error = nullptr) {
    static std::atomic<int> counter{0};
    const std::string name =
        "t" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1));
    auto admin = PgConn::connect(url("postgres"));
    if (!admin) {
      if (error) *error = admin.error().message;
      return "";
    }
    if (auto r = admin->exec("CREATE DATABASE " + name); !r) {
      if (error) *error = r.error().message;
      return "";
    }
    return url(name);
  }
  const std::string& dir() const { return dir_; }
  bool running() const { return running_; }

  void stop() {
    if (!running_) return;
    running_ = false;
    run(as_user_ + kBin + std::string("/pg_ctl -D ") + dir_ +
        "/data -m immediate -w stop >/dev/null 2>&1");
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

 private:
  static int run(const std::string& command) { return std::system(command.c_str()); }

  static std::unique_ptr<PgServer> start() {
    if (::access((std::string(kBin) + "/pg_ctl").c_str(), X_OK) != 0) {
      skip_reason() = std::string("no PostgreSQL server binaries in ") + kBin;
      return nullptr;
    }
    std::unique_ptr<PgServer> s(new PgServer());
    if (::geteuid() == 0) {
      // initdb refuses root: run the server as postgres.
      const passwd* pw = ::getpwnam("postgres");
      if (!pw) {
        skip_reason() = "running as root and there is no postgres user to run the server";
        return nullptr;
      }
      s->uid_ = pw->pw_uid;
      s->gid_ = pw->pw_gid;
      s->as_user_ = "runuser -u postgres -- ";
    }
    char tmpl[] = "/tmp/tern-pg-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      skip_reason() = "cannot create a temporary directory";
      return nullptr;
    }
    s->dir_ = tmpl;
    if (::geteuid() == 0 && ::chown(tmpl, s->uid_, s->gid_) != 0) {
      skip_reason() = "cannot hand the temporary directory to postgres";
      std::filesystem::remove_all(s->dir_);
      return nullptr;
    }
    std::random_device rd;
    s->port_ = 20000 + static_cast<int>(rd() % 20000);
    // initdb's output is written by this process; the server's log by the server's user.
    const std::string log = s->dir_ + "/initdb.log";
    const std::string server_log = s->dir_ + "/server.log";
    if (!s->make_data_dir(log)) {
      skip_reason() = "initdb failed: " + tail(log);
      std::filesystem::remove_all(s->dir_);
      return nullptr;
    }
    // Unix socket only (no TCP port), no fsync: a test server.
    const std::string options = "-k " + s->dir_ + " -p " + std::to_string(s->port_) +
                                " -c listen_addresses='' -c fsync=off -c max_connections=200";
    if (run(s->as_user_ + kBin + "/pg_ctl -D " + s->dir_ + "/data -l " + server_log +
            " -w -t 60 -o \"" + options + "\" start >/dev/null 2>&1") != 0) {
      skip_reason() = "pg_ctl start failed: " + tail(server_log);
      std::filesystem::remove_all(s->dir_);
      return nullptr;
    }
    s->running_ = true;
    // Should this process die without its destructors (a crash, an abort), a watchdog
    // stops the server and removes the directory once it is gone.
    run("nohup sh -c 'while kill -0 " + std::to_string(::getpid()) +
        " 2>/dev/null; do sleep 1; done; " + s->as_user_ + kBin + "/pg_ctl -D " + s->dir_ +
        "/data -m immediate -w stop; rm -rf " + s->dir_ + "' >/dev/null 2>&1 &");
    return s;
  }

  // initdb takes seconds and every test runs in a process of its own under ctest: the
  // first one keeps a pristine copy next to the test binary (renamed into place whole, so
  // racing processes never see half of one), and later ones copy it.
  bool make_data_dir(const std::string& log) {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    const std::string cache = ec ? "" : (exe.parent_path() / "pg15-initdb-template").string();
    const std::string data = dir_ + "/data";
    const std::string owner = as_user_.empty() ? "" : " && chown -R postgres: " + data;
    if (!cache.empty() && std::filesystem::exists(cache + "/PG_VERSION", ec) &&
        run("cp -a " + cache + " " + data + owner + " >" + log + " 2>&1") == 0) {
      return true;
    }
    std::filesystem::remove_all(data, ec);
    if (run(as_user_ + kBin + "/initdb -D " + data + " -U tern --auth=trust --no-sync -E UTF8 >" +
            log + " 2>&1") != 0) {
      return false;
    }
    if (!cache.empty()) {
      const std::string tmp = cache + "." + std::to_string(::getpid());
      run("cp -a " + data + " " + tmp + " && mv -T " + tmp + " " + cache + " 2>/dev/null; rm -rf " +
          tmp);
    }
    return true;
  }

  static std::string tail(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string t = ss.str();
    return t.size() > 400 ? t.substr(t.size() - 400) : t;
  }

  PgServer() = default;

  std::string dir_;
  std::string as_user_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  int port_ = 0;
  bool running_ = false;
};

}  // namespace tern::control::testing
