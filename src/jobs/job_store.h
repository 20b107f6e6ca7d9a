// The job store: every long operation of quantscope (measure, quantize, perplexity, download) is a
// job with a row in one SQLite database, its finished units of work, its measurement rows and its
// output files. Runners write it unit by unit; the CLI and the GUI read and steer it from other
// processes at the same time (WAL mode: readers never block the writer).
//
// One JobStore is one connection. Its methods lock an internal mutex, so a runner's lease-renewal
// thread may share it with the thread doing the work.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "jobs/lease.h"
#include "jobs/measurement_row.h"

namespace qs {

class SqliteDatabase;

enum class JobState { queued, running, paused, done, failed, cancelled };
const char *job_state_name(JobState state);
std::optional<JobState> parse_job_state(std::string_view name);
bool job_state_is_final(JobState state);  // done, failed or cancelled

// Where the database lives when nobody says: --db, else $QUANTSCOPE_DB, else
// $XDG_DATA_HOME/quantscope/quantscope.db, else ~/.local/share/quantscope/quantscope.db.
std::filesystem::path default_job_database_path();
std::filesystem::path resolve_job_database_path(const std::string &db_flag);  // "" = not given

struct JobInfo {
  int64_t id = 0;
  std::string kind;
  nlohmann::json params;
  JobState state = JobState::queued;
  std::optional<JobState> requested_state;  // paused/cancelled asked for by another process
  int64_t units_done = 0;
  int64_t units_total = 0;
  std::optional<double> eta_seconds;
  std::string error;
  double created_at = 0;
  std::optional<double> started_at;
  double updated_at = 0;
  std::optional<double> finished_at;
  std::optional<Lease> lease;
  OwnerStatus owner = OwnerStatus::none;  // evaluated when the row was read
};

struct Artifact {
  std::string kind;  // "gguf", "strategy", "report", ...
  std::filesystem::path path;
  bool operator==(const Artifact &) const = default;
};

// Everything `jobs show` prints, read in one snapshot (counts always match the progress).
struct JobDetail {
  JobInfo job;
  int64_t unit_count = 0;
  int64_t measurement_count = 0;
  std::vector<std::pair<std::string, int64_t>> rows_per_type;    // in first-measured order
  std::vector<std::pair<std::string, int64_t>> values_per_metric;  // metrics with at least one value
  std::vector<Artifact> artifacts;
};

// What a finished unit of work leaves behind.
struct UnitResult {
  std::vector<MeasurementRow> measurements;
  std::vector<Artifact> artifacts;
};

// What a pause/cancel/resume call did.
struct ControlResult {
  JobState state;               // the job's state after the call
  bool changed = false;         // false: it already was in the asked-for state
  bool waiting_for_runner = false;  // a live runner was asked; it obeys after its current unit
};

struct ImportResult {
  int64_t job_id = 0;
  int64_t inserted = 0;
  int64_t skipped_identical = 0;
};

class JobStore {
 public:
  struct Options {
    int busy_timeout_ms = 5000;
    bool synchronous_full = true;  // fsync each commit: units survive power loss, not only a kill
  };

  // Opens or creates the database (and its directory), upgrading an older schema.
  explicit JobStore(const std::filesystem::path &path);
  JobStore(const std::filesystem::path &path, const Options &options);
  ~JobStore();
  JobStore(const JobStore &) = delete;
  JobStore &operator=(const JobStore &) = delete;

  const std::filesystem::path &path() const { return path_; }

  // --- jobs -------------------------------------------------------------------------------------
  int64_t create_job(std::string_view kind, const nlohmann::json &params, int64_t units_total = 0);
  JobInfo job(int64_t id);                  // throws "no job <id> in job database <path>"
  std::optional<JobInfo> find_job(int64_t id);
  std::vector<JobInfo> list_jobs();         // by id
  JobDetail job_detail(int64_t id);
  // Jobs left "running" by a process that died (kill -9, power loss): resume them.
  std::vector<JobInfo> orphaned_jobs();

  // --- control, from any process ------------------------------------------------------------------
  // A queued job, or one whose runner is gone, changes at once; a live runner is asked through
  // requested_state and obeys between units. Throws when the job's state forbids the change.
  ControlResult pause_job(int64_t id);
  ControlResult cancel_job(int64_t id);
  // Makes a paused, failed or orphaned job queued again (keeping every finished unit), or takes
  // back a pause/cancel request a live runner has not acted on yet.
  ControlResult resume_job(int64_t id);

  // --- results ------------------------------------------------------------------------------------
  std::set<std::string> finished_units(int64_t job_id);
  std::vector<MeasurementRow> measurements(int64_t job_id);  // in the order they were committed
  std::vector<Artifact> artifacts(int64_t job_id);
  void add_artifact(int64_t job_id, const Artifact &artifact);
  // Rows from a CSV (`source` names it in errors) into a new job of kind "import" or merged into
  // job `into`: identical duplicates are skipped, conflicting ones are an error naming them, and
  // nothing is written unless everything is. Each row also counts as the finished unit
  // measurement_unit_key(tensor, type), so a resumed job does not measure it again.
  ImportResult import_measurements(std::optional<int64_t> into, const std::vector<SourcedRow> &rows,
                                   const std::string &source);

  // --- the runner's side (see job_runner.h) ---------------------------------------------------------
  // Atomically takes the job (queued, or running under a gone owner) for `lease`; false when a live
  // owner holds it. Throws when the job cannot run at all (done, cancelled, paused, failed).
  bool try_acquire(int64_t job_id, const Lease &lease, int64_t units_total, double lease_seconds);
  // What a runner learns each time it touches its job: is the lease still its own, and has
  // another process asked it to pause or cancel.
  struct LeaseCheck {
    bool held = false;
    std::optional<JobState> requested_state;
  };
  LeaseCheck renew_lease(int64_t job_id, const std::string &token, double lease_seconds);
  LeaseCheck check_lease(int64_t job_id, const std::string &token);
  // One transaction: the unit, its rows and artifacts, the progress and a renewed lease; nothing if
  // the lease is no longer ours (returns held = false). Inserting a unit or row twice throws.
  LeaseCheck commit_unit(int64_t job_id, const std::string &token, const std::string &unit_key,
                         const UnitResult &result, int64_t units_done, std::optional<double> eta_seconds,
                         double lease_seconds);
  // Ends the run: a final state (done/failed/cancelled) or paused; clears the lease and any request.
  bool finish_run(int64_t job_id, const std::string &token, JobState state, const std::string &error);

  SqliteDatabase &database();  // for tests and for the store's own helpers

 private:
  std::optional<JobInfo> read_job(int64_t id);
  void insert_measurement(int64_t job_id, const MeasurementRow &row, std::string_view where);
  void insert_artifact(int64_t job_id, const Artifact &artifact);
  std::vector<MeasurementRow> read_measurements(int64_t job_id);

  std::filesystem::path path_;
  std::mutex mutex_;
  std::unique_ptr<SqliteDatabase> db_;
};

// An unfinished job of this kind with exactly these params (queued, paused, failed, or left running
// by a dead process), the first by id: running the same request again continues it.
std::optional<int64_t> find_unfinished_job(JobStore &store, std::string_view kind, const nlohmann::json &params);

}  // namespace qs
