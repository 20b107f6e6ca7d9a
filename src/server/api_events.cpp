// The job event stream.
#include "server/api_events.h"

#include <chrono>
#include <map>
#include <memory>
#include <thread>
#include <tuple>

#include "jobs/job_json.h"

namespace qs::server {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(250);
constexpr auto kKeepaliveInterval = std::chrono::seconds(15);

// What makes a job worth sending again.
using JobVersion = std::tuple<double, JobState, int64_t, std::optional<JobState>>;

struct JobEventStream {
  explicit JobEventStream(const std::filesystem::path &db, std::atomic<bool> &stopping) : store(db), stopping(stopping) {}

  JobStore store;  // its own connection: a slow client never holds up the request handlers
  std::atomic<bool> &stopping;
  std::map<int64_t, JobVersion> sent;
  bool first = true;
  std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();

  // Sends what changed; false when the client is gone or the server stops.
  bool step(const StreamWrite &write) {
    if (stopping) return false;
    if (!first) std::this_thread::sleep_for(kPollInterval);
    if (stopping) return false;
    if (first && !write("retry: 2000\n\n")) return false;
    first = false;
    for (const JobInfo &job : store.list_jobs()) {
      const JobVersion version{job.updated_at, job.state, job.units_done, job.requested_state};
      const auto found = sent.find(job.id);
      if (found != sent.end() && found->second == version) continue;
      if (!write("event: job\ndata: " + job_to_json(job).dump() + "\n\n")) return false;
      sent[job.id] = version;
      last_write = std::chrono::steady_clock::now();
    }
    if (std::chrono::steady_clock::now() - last_write >= kKeepaliveInterval) {
      if (!write(": keepalive\n\n")) return false;
      last_write = std::chrono::steady_clock::now();
    }
    return true;
  }
};

}  // namespace

HttpResponse api_events(ServerContext &context, const HttpRequest &) {
  auto stream = std::make_shared<JobEventStream>(context.db_path, context.stopping);
  HttpResponse response;
  response.content_type = "text/event-stream";
  response.headers.emplace_back("Cache-Control", "no-cache");
  response.headers.emplace_back("X-Accel-Buffering", "no");
  response.stream = [stream](const StreamWrite &write) { return stream->step(write); };
  return response;
}

}  // namespace qs::server
