// The job store's connection, where the database lives, and reading jobs (list, one job, the
// snapshot `jobs show` prints, orphans left by dead processes).
#include "jobs/job_store.h"

#include <cstdlib>

#include "core/error.h"
#include "jobs/job_clock.h"
#include "jobs/schema.h"
#include "jobs/sqlite_db.h"

namespace qs {
namespace {

constexpr const char *kJobColumns =
    "id, kind, params, state, requested_state, units_done, units_total, eta_seconds, error, created_at, "
    "started_at, updated_at, finished_at, lease_host, lease_pid, lease_pid_start, lease_token, lease_expires_at";

JobState state_from_column(const std::string &name, const std::filesystem::path &db) {
  const auto state = parse_job_state(name);
  // The CHECK constraint keeps other values out; a hit here means the file was edited by hand.
  if (!state) fail("job database ", db.string(), " is not a quantscope database or is corrupt (job state '", name, "')");
  return *state;
}

JobInfo job_from_row(const SqliteStatement &row, const std::filesystem::path &db, double now) {
  JobInfo job;
  job.id = row.int64(0);
  job.kind = row.text(1);
  job.params = nlohmann::json::parse(row.text(2), nullptr, /*allow_exceptions=*/false);
  if (job.params.is_discarded()) job.params = nlohmann::json::object();
  job.state = state_from_column(row.text(3), db);
  if (const auto requested = row.optional_text(4)) job.requested_state = state_from_column(*requested, db);
  job.units_done = row.int64(5);
  job.units_total = row.int64(6);
  job.eta_seconds = row.optional_real(7);
  job.error = row.text(8);
  job.created_at = row.real(9);
  job.started_at = row.optional_real(10);
  job.updated_at = row.real(11);
  job.finished_at = row.optional_real(12);
  if (const auto token = row.optional_text(16)) {
    Lease lease;
    lease.owner.host = row.text(13);
    lease.owner.pid = row.int64(14);
    lease.owner.start_ticks = row.int64(15);
    lease.token = *token;
    lease.expires_at = row.real(17);
    job.lease = lease;
  }
  job.owner = lease_status(job.lease, now);
  return job;
}

}  // namespace

const char *job_state_name(JobState state) {
  switch (state) {
    case JobState::queued: return "queued";
    case JobState::running: return "running";
    case JobState::paused: return "paused";
    case JobState::done: return "done";
    case JobState::failed: return "failed";
    case JobState::cancelled: return "cancelled";
  }
  return "?";
}

std::optional<JobState> parse_job_state(std::string_view name) {
  for (JobState state : {JobState::queued, JobState::running, JobState::paused, JobState::done, JobState::failed,
                         JobState::cancelled})
    if (name == job_state_name(state)) return state;
  return std::nullopt;
}

bool job_state_is_final(JobState state) {
  return state == JobState::done || state == JobState::failed || state == JobState::cancelled;
}

std::filesystem::path default_job_database_path() {
  const char *xdg = std::getenv("XDG_DATA_HOME");
  // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  if (xdg && xdg[0] == '/') return std::filesystem::path(xdg) / "quantscope" / "quantscope.db";
  const char *home = std::getenv("HOME");
  if (!home || home[0] == 0)
    fail("cannot place the job database: HOME is not set (pass --db PATH or set QUANTSCOPE_DB)");
  return std::filesystem::path(home) / ".local" / "share" / "quantscope" / "quantscope.db";
}

std::filesystem::path resolve_job_database_path(const std::string &db_flag) {
  if (!db_flag.empty()) return db_flag;
  const char *env = std::getenv("QUANTSCOPE_DB");
  if (env && env[0] != 0) return env;
  return default_job_database_path();
}

JobStore::JobStore(const std::filesystem::path &path) : JobStore(path, Options{}) {}

JobStore::JobStore(const std::filesystem::path &path, const Options &options) : path_(path) {
  SqliteOptions sqlite_options;
  sqlite_options.busy_timeout_ms = options.busy_timeout_ms;
  sqlite_options.synchronous_full = options.synchronous_full;
  db_ = std::make_unique<SqliteDatabase>(path, sqlite_options);
  migrate_schema(*db_);
}

JobStore::~JobStore() = default;

SqliteDatabase &JobStore::database() { return *db_; }

int64_t JobStore::create_job(std::string_view kind, const nlohmann::json &params, int64_t units_total) {
  if (kind.empty()) fail("a job needs a kind (measure, quantize, ...)");
  if (!params.is_object()) fail("the parameters of a ", kind, " job must be a JSON object");
  if (units_total < 0) fail("a ", kind, " job cannot have ", units_total, " units");
  std::lock_guard lock(mutex_);
  const double now = unix_now_seconds();
  SqliteStatement insert(*db_,
                         "INSERT INTO jobs (kind, params, state, units_total, created_at, updated_at) "
                         "VALUES (?, ?, 'queued', ?, ?, ?)",
                         cat("creating a ", kind, " job"));
  insert.bind(1, kind).bind(2, std::string_view(params.dump())).bind(3, units_total).bind(4, now).bind(5, now).run();
  return db_->last_insert_rowid();
}

std::optional<JobInfo> JobStore::read_job(int64_t id) {
  SqliteStatement query(*db_, cat("SELECT ", kJobColumns, " FROM jobs WHERE id = ?"), cat("reading job ", id));
  query.bind(1, id);
  if (!query.step()) return std::nullopt;
  return job_from_row(query, path_, unix_now_seconds());
}

std::optional<JobInfo> JobStore::find_job(int64_t id) {
  std::lock_guard lock(mutex_);
  return read_job(id);
}

JobInfo JobStore::job(int64_t id) {
  auto found = find_job(id);
  if (!found) fail("no job ", id, " in job database ", path_.string(), " (`quantscope jobs list` shows the jobs)");
  return std::move(*found);
}

std::vector<JobInfo> JobStore::list_jobs() {
  std::lock_guard lock(mutex_);
  SqliteStatement query(*db_, cat("SELECT ", kJobColumns, " FROM jobs ORDER BY id"), "listing jobs");
  std::vector<JobInfo> jobs;
  const double now = unix_now_seconds();
  while (query.step()) jobs.push_back(job_from_row(query, path_, now));
  return jobs;
}

std::vector<JobInfo> JobStore::orphaned_jobs() {
  std::vector<JobInfo> orphans;
  for (auto &job : list_jobs())
    if (job.state == JobState::running && job.owner != OwnerStatus::alive) orphans.push_back(std::move(job));
  return orphans;
}

JobDetail JobStore::job_detail(int64_t id) {
  std::lock_guard lock(mutex_);
  JobDetail detail;
  // One read transaction: the job row and the counts come from the same snapshot, so a reader
  // never sees progress that disagrees with the rows (a runner commits both together).
  SqliteTransaction snapshot(*db_, SqliteTransaction::Kind::read, cat("reading job ", id));
  auto job = read_job(id);
  if (!job) fail("no job ", id, " in job database ", path_.string(), " (`quantscope jobs list` shows the jobs)");
  detail.job = std::move(*job);
  {
    SqliteStatement units(*db_, "SELECT count(*) FROM units WHERE job_id = ?", "counting units");
    units.bind(1, id).step();
    detail.unit_count = units.int64(0);
  }
  {
    SqliteStatement per_type(*db_,
                             "SELECT type, count(*) FROM measurements WHERE job_id = ? GROUP BY type ORDER BY min(id)",
                             "counting measurements");
    per_type.bind(1, id);
    while (per_type.step()) {
      detail.rows_per_type.emplace_back(per_type.text(0), per_type.int64(1));
      detail.measurement_count += per_type.int64(1);
    }
  }
  {
    std::string sql = "SELECT ";
    for (const auto &metric : all_metrics()) sql += cat("count(", metric.column, "), ");
    sql += "0 FROM measurements WHERE job_id = ?";
    SqliteStatement per_metric(*db_, sql, "counting metric values");
    per_metric.bind(1, id).step();
    int column = 0;
    for (const auto &metric : all_metrics()) {
      const int64_t count = per_metric.int64(column++);
      if (count > 0) detail.values_per_metric.emplace_back(metric.column, count);
    }
  }
  {
    SqliteStatement artifacts(*db_, "SELECT kind, path FROM artifacts WHERE job_id = ? ORDER BY id", "reading artifacts");
    artifacts.bind(1, id);
    while (artifacts.step()) detail.artifacts.push_back({artifacts.text(0), artifacts.text(1)});
  }
  snapshot.commit();
  return detail;
}

std::vector<Artifact> JobStore::artifacts(int64_t job_id) {
  std::lock_guard lock(mutex_);
  SqliteStatement query(*db_, "SELECT kind, path FROM artifacts WHERE job_id = ? ORDER BY id", "reading artifacts");
  query.bind(1, job_id);
  std::vector<Artifact> found;
  while (query.step()) found.push_back({query.text(0), query.text(1)});
  return found;
}

void JobStore::insert_artifact(int64_t job_id, const Artifact &artifact) {
  if (artifact.kind.empty() || artifact.path.empty()) fail("job ", job_id, ": an artifact needs a kind and a path");
  SqliteStatement insert(*db_,
                         "INSERT INTO artifacts (job_id, kind, path, created_at) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (job_id, path) DO UPDATE SET kind = excluded.kind",
                         cat("recording artifact ", artifact.path.string(), " of job ", job_id));
  insert.bind(1, job_id).bind(2, artifact.kind).bind(3, artifact.path.string()).bind(4, unix_now_seconds()).run();
}

void JobStore::add_artifact(int64_t job_id, const Artifact &artifact) {
  std::lock_guard lock(mutex_);
  if (!read_job(job_id)) fail("no job ", job_id, " in job database ", path_.string());
  insert_artifact(job_id, artifact);
}

std::optional<int64_t> find_unfinished_job(JobStore &store, std::string_view kind, const nlohmann::json &params) {
  for (const JobInfo &job : store.list_jobs()) {
    if (job.kind != kind || job.params != params) continue;
    const bool unfinished = job.state == JobState::queued || job.state == JobState::paused ||
                            job.state == JobState::failed ||
                            (job.state == JobState::running && job.owner == OwnerStatus::gone);
    if (unfinished) return job.id;
  }
  return std::nullopt;
}

}  // namespace qs
