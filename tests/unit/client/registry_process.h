#pragma once
// A real docker-registry (distribution 2.8, the registry:2 of the world) for
// the client's integration tests: a generated config.yml on 127.0.0.1 and a
// free port, optional htpasswd Basic auth, TLS or token auth; started as a
// child process (killed with the test process if that dies) and stopped by
// its PID.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/client/test_util.h"
#include "tests/unit/common/wait.h"

extern char** environ;

namespace pier::client::testing {

// Full path of an executable found on PATH (or in /usr/sbin, /usr/bin), empty if none.
inline std::string FindProgram(const std::string& name) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/usr/bin";
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    std::filesystem::path p = std::filesystem::path(dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

// Runs a shell command and returns its standard output ("" on failure).
inline std::string Capture(const std::string& command) {
  std::string out;
  FILE* f = ::popen(command.c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  if (::pclose(f) != 0) return "";
  return out;
}

inline std::string ReadText(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct RegistryConfig {
  std::string htpasswd_user;  // non-empty: htpasswd Basic auth for this user
  std::string htpasswd_password;
  std::string tls_cert_file;  // both set: serve HTTPS
  std::string tls_key_file;
  // Token auth (the Docker token protocol): realm URL, service, issuer and
  // the PEM bundle of certificates that may sign tokens.
  std::string token_realm;
  std::string token_service;
  std::string token_issuer;
  std::string token_root_cert_file;
};

class RegistryProcess {
 public:
  // Starts docker-registry in `dir` and waits until it accepts connections.
  // Returns null (with `why`) when it cannot run.
  static std::unique_ptr<RegistryProcess> Start(const std::filesystem::path& dir,
                                                const RegistryConfig& config, std::string* why) {
    // The free port may be taken by a test running in parallel before the
    // registry binds it: try another.
    for (int attempt = 0; attempt < 3; ++attempt) {
      auto rp = StartOnce(dir, config, why);
      if (rp || why->find("address already in use") == std::string::npos) return rp;
    }
    return nullptr;
  }

  ~RegistryProcess() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    if (pier::testing::WaitUntil([&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; }, std::chrono::seconds(5))) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  RegistryProcess(const RegistryProcess&) = delete;
  RegistryProcess& operator=(const RegistryProcess&) = delete;

  std::string url() const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
  }
  std::string log() const { return ReadText(log_); }

 private:
  RegistryProcess() = default;

  static std::unique_ptr<RegistryProcess> StartOnce(const std::filesystem::path& dir,
                                                    const RegistryConfig& config, std::string* why) {
    std::string binary = FindProgram("docker-registry");
    if (binary.empty()) {
      *why = "docker-registry is not installed";
      return nullptr;
    }
    auto rp = std::unique_ptr<RegistryProcess>(new RegistryProcess());
    rp->port_ = FreePort();
    rp->tls_ = !config.tls_cert_file.empty();
    std::filesystem::create_directories(dir);
    std::string yml = "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\n";
    yml += "storage:\n  filesystem:\n    rootdirectory: " + (dir / "data").string() +
           "\n  delete:\n    enabled: true\n";
    yml += "http:\n  addr: 127.0.0.1:" + std::to_string(rp->port_) + "\n  secret: pier-client-test-secret\n";
    if (rp->tls_) {
      yml += "  tls:\n    certificate: " + config.tls_cert_file + "\n    key: " + config.tls_key_file + "\n";
    }
    if (!config.htpasswd_user.empty()) {
      std::string htpasswd = FindProgram("htpasswd");
      if (htpasswd.empty()) {
        *why = "htpasswd (apache2-utils) is not installed";
        return nullptr;
      }
      std::string line =
          Capture(htpasswd + " -nbB '" + config.htpasswd_user + "' '" + config.htpasswd_password + "'");
      if (line.empty()) {
        *why = "htpasswd failed";
        return nullptr;
      }
      WriteFile(dir / "htpasswd", line);
      yml += "auth:\n  htpasswd:\n    realm: r\n    path: " + (dir / "htpasswd").string() + "\n";
    } else if (!config.token_realm.empty()) {
      yml += "auth:\n  token:\n    realm: " + config.token_realm + "\n    service: " + config.token_service +
             "\n    issuer: " + config.token_issuer + "\n    rootcertbundle: " + config.token_root_cert_file +
             "\n";
    }
    WriteFile(dir / "config.yml", yml);
    rp->log_ = dir / "registry.log";

    // docker-registry reads REGISTRY_* variables as config overrides: drop them.
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::string(*e).rfind("REGISTRY_", 0) != 0) env.emplace_back(*e);
    }
    std::vector<char*> envp;
    for (auto& s : env) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string config_path = (dir / "config.yml").string();
    std::string serve = "serve";
    std::vector<char*> argv = {binary.data(), serve.data(), config_path.data(), nullptr};
    // fork + exec rather than posix_spawn, for PR_SET_PDEATHSIG: the
    // registry dies with the test process even when the test crashes.
    // Between fork and exec only async-signal-safe calls.
    std::string log_path = rp->log_.string();
    pid_t pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int null = ::open("/dev/null", O_RDONLY);
      if (log < 0 || null < 0) ::_exit(127);
      ::dup2(null, 0);
      ::dup2(log, 1);
      ::dup2(log, 2);
      ::execve(binary.c_str(), argv.data(), envp.data());
      ::_exit(127);
    }
    if (pid < 0) {
      *why = "fork failed";
      return nullptr;
    }
    rp->pid_ = pid;
    // Ready when the log says it listens (it binds before saying so).
    bool exited = false;
    const bool ready = pier::testing::WaitUntil(
        [&] {
          int status = 0;
          exited = ::waitpid(rp->pid_, &status, WNOHANG) == rp->pid_;
          return exited || ReadText(rp->log_).find("listening on") != std::string::npos;
        },
        std::chrono::seconds(20));
    if (exited) {
      rp->pid_ = -1;
      *why = "docker-registry exited: " + ReadText(rp->log_);
      return nullptr;
    }
    if (ready) return rp;
    *why = "docker-registry did not start: " + ReadText(rp->log_);
    return nullptr;
  }

  pid_t pid_ = -1;
  uint16_t port_ = 0;
  bool tls_ = false;
  std::filesystem::path log_;
};

}  // namespace pier::client::testing
