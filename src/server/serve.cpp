// serve(): wiring the server's parts together, and shutting down in order on a signal.
#include "server/serve.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <thread>

#include "core/error.h"
#include "model/hf_cache.h"
#include "server/request_gate.h"
#include "server/routes.h"
#include "server/security.h"

namespace qs::server {
namespace {

std::vector<std::filesystem::path> root_paths(const ServeOptions &options) {
  std::vector<std::filesystem::path> roots(options.roots.begin(), options.roots.end());
  if (roots.empty()) roots.push_back(std::filesystem::current_path());
  return roots;
}

void warn_open_to_the_network(const std::string &host) {
  std::fprintf(stderr,
               "quantscope serve: WARNING: listening on %s, which other machines can reach.\n"
               "quantscope serve: WARNING: every API request needs the access token; anyone who has it can read\n"
               "quantscope serve: WARNING: and write files under the roots and run jobs on this machine.\n"
               "quantscope serve: WARNING: the traffic is plain HTTP (no TLS): use it only on a network you trust.\n",
               host.c_str());
}

// SIGINT and SIGTERM only write a byte to this pipe (all a signal handler may safely do); a thread
// waits on it. (Blocking the signals would not do: libraries start threads before main.)
int signal_pipe[2] = {-1, -1};

extern "C" void on_stop_signal(int) {
  const char byte = 1;
  [[maybe_unused]] const ssize_t written = write(signal_pipe[1], &byte, 1);
}

void install_stop_signals() {
  if (pipe(signal_pipe) != 0) fail("cannot create a pipe for signal handling");
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

// Waits for a stop signal, or for `done`.
void wait_for_signal(const std::atomic<bool> &done, const std::function<void()> &on_signal) {
  pollfd wait{signal_pipe[0], POLLIN, 0};
  while (!done) {
    if (poll(&wait, 1, 200) > 0) {
      on_signal();
      return;
    }
  }
}

}  // namespace

void serve(const ServeOptions &options) {
  install_stop_signals();
  signal(SIGPIPE, SIG_IGN);  // a client that goes away mid-answer is an error to handle, not death

  const bool loopback = is_loopback_host(options.host);
  std::string token = options.token;
  if (!loopback) {
    warn_open_to_the_network(options.host);
    if (token.empty()) token = random_token();
  }

  const auto db_path = resolve_job_database_path(options.db);
  JobStore store(db_path);
  ServerJobRunner runner(db_path);
  std::atomic<bool> stopping{false};
  ServerContext context{db_path, PathGuard(root_paths(options), {hf_hub_cache_dir()}), !token.empty(), store, runner, stopping};

  HttpServer server;
  server.set_max_body_bytes(kMaxBodyBytes);
  const GatePolicy policy{loopback, token};
  server.set_gate([policy](const HttpRequest &request) { check_request(policy, request); });
  add_routes(server, context);
  const int port = server.bind(options.host, options.port);

  runner.start();
  std::printf("quantscope serve: listening on %s\n", browser_url(options.host, port, token).c_str());
  std::printf("quantscope serve: job database %s; Ctrl-C stops (a running job pauses after its current unit)\n",
              db_path.c_str());
  std::fflush(stdout);

  std::atomic<bool> server_ended{false};
  std::thread signal_thread([&] {
    wait_for_signal(server_ended, [&] {
      stopping = true;
      // A signal in the instant before run() starts listening would find nothing to stop yet.
      while (!server_ended) {
        server.stop();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  });
  server.run();
  stopping = true;
  server_ended = true;
  signal_thread.join();
  std::fprintf(stderr, "quantscope serve: stopping; pausing the running job, if any\n");
  runner.stop();
}

}  // namespace qs::server
