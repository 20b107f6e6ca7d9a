// Measurement rows and finished units in the job store: storing one row, reading a job's rows, and
// merging rows from a CSV into a job (identical duplicates skipped, conflicting ones refused).
#include <map>

#include "core/error.h"
#include "jobs/job_clock.h"
#include "jobs/job_store.h"
#include "jobs/sqlite_db.h"

namespace qs {
namespace {

std::string metric_column_list() {
  std::string columns;
  for (const auto &metric : all_metrics()) columns += cat(", ", metric.column);
  return columns;
}

std::string value_words(std::optional<double> value) { return value ? format_metric_value(*value) : "empty"; }

// The first field in which two rows for the same tensor and type differ, e.g. "rmse 0.1 vs 0.2".
std::string first_difference(const MeasurementRow &a, const MeasurementRow &b) {
  if (a.bits != b.bits) return cat("bits ", format_metric_value(a.bits), " vs ", format_metric_value(b.bits));
  if (a.params != b.params) return cat("params ", a.params, " vs ", b.params);
  for (const auto &metric : all_metrics())
    if (a.get(metric.metric) != b.get(metric.metric))
      return cat(metric.column, " ", value_words(a.get(metric.metric)), " vs ", value_words(b.get(metric.metric)));
  return "no difference";
}

}  // namespace

void JobStore::insert_measurement(int64_t job_id, const MeasurementRow &row, std::string_view where) {
  validate_measurement_row(row, where);
  {
    SqliteStatement seen(*db_, "SELECT 1 FROM measurements WHERE job_id = ? AND tensor = ? AND type = ?",
                         cat("storing a measurement of ", where));
    seen.bind(1, job_id).bind(2, row.tensor).bind(3, row.type);
    if (seen.step())
      fail(where, ": job ", job_id, " already has a measurement of tensor ", row.tensor, " as ", row.type,
           "; a row is never stored twice");
  }
  std::string placeholders;
  for (size_t i = 0; i < kMetricCount; ++i) placeholders += ", ?";
  SqliteStatement insert(*db_,
                         cat("INSERT INTO measurements (job_id, tensor, type, bits, params", metric_column_list(),
                             ") VALUES (?, ?, ?, ?, ?", placeholders, ")"),
                         cat("storing a measurement of ", where));
  insert.bind(1, job_id).bind(2, row.tensor).bind(3, row.type).bind(4, row.bits).bind(5, row.params);
  int index = 6;
  for (const auto &metric : all_metrics()) insert.bind(index++, row.get(metric.metric));
  insert.run();
}

std::vector<MeasurementRow> JobStore::read_measurements(int64_t job_id) {
  SqliteStatement query(*db_,
                        cat("SELECT tensor, type, bits, params", metric_column_list(),
                            " FROM measurements WHERE job_id = ? ORDER BY id"),
                        cat("reading the measurements of job ", job_id));
  query.bind(1, job_id);
  std::vector<MeasurementRow> rows;
  while (query.step()) {
    MeasurementRow row;
    row.tensor = query.text(0);
    row.type = query.text(1);
    row.bits = query.real(2);
    row.params = query.int64(3);
    int column = 4;
    for (const auto &metric : all_metrics()) row.set(metric.metric, query.optional_real(column++));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<MeasurementRow> JobStore::measurements(int64_t job_id) {
  std::lock_guard lock(mutex_);
  SqliteTransaction snapshot(*db_, SqliteTransaction::Kind::read, cat("reading the measurements of job ", job_id));
  if (!read_job(job_id)) fail("no job ", job_id, " in job database ", path_.string());
  auto rows = read_measurements(job_id);
  snapshot.commit();
  return rows;
}

std::set<std::string> JobStore::finished_units(int64_t job_id) {
  std::lock_guard lock(mutex_);
  SqliteStatement query(*db_, "SELECT unit_key FROM units WHERE job_id = ?",
                        cat("reading the finished units of job ", job_id));
  query.bind(1, job_id);
  std::set<std::string> keys;
  while (query.step()) keys.insert(query.text(0));
  return keys;
}

ImportResult JobStore::import_measurements(std::optional<int64_t> into, const std::vector<SourcedRow> &rows,
                                           const std::string &source) {
  for (const auto &sourced : rows) validate_measurement_row(sourced.row, cat(source, ": line ", sourced.line));
  std::lock_guard lock(mutex_);
  SqliteTransaction transaction(*db_, SqliteTransaction::Kind::write, cat("importing ", source));
  const double now = unix_now_seconds();
  ImportResult result;
  std::string target;  // "job 3" in messages
  if (into) {
    auto job = read_job(*into);
    if (!job) fail("no job ", *into, " in job database ", path_.string());
    if (job->state == JobState::running && job->owner == OwnerStatus::alive)
      fail("job ", *into, " is running (process ", job->lease->owner.pid, " on ", job->lease->owner.host,
           "); pause it before importing into it");
    result.job_id = *into;
  } else {
    SqliteStatement create(*db_,
                           "INSERT INTO jobs (kind, params, state, created_at, started_at, updated_at, finished_at) "
                           "VALUES ('import', ?1, 'done', ?2, ?2, ?2, ?2)",
                           cat("creating an import job for ", source));
    create.bind(1, std::string_view(nlohmann::json{{"source", source}}.dump())).bind(2, now).run();
    result.job_id = db_->last_insert_rowid();
  }
  target = cat("job ", result.job_id);

  using Key = std::pair<std::string, std::string>;
  std::map<Key, MeasurementRow> existing;
  for (auto &row : read_measurements(result.job_id)) existing.emplace(Key{row.tensor, row.type}, std::move(row));
  std::map<Key, const SourcedRow *> seen_in_file;
  std::vector<const SourcedRow *> to_insert;
  std::vector<std::string> conflicts;
  for (const auto &sourced : rows) {
    const Key key{sourced.row.tensor, sourced.row.type};
    if (const auto earlier = seen_in_file.find(key); earlier != seen_in_file.end()) {
      if (earlier->second->row == sourced.row) ++result.skipped_identical;
      else
        conflicts.push_back(cat("line ", sourced.line, ": ", key.first, " ", key.second, " differs from line ",
                                earlier->second->line, " (", first_difference(sourced.row, earlier->second->row), ")"));
      continue;
    }
    seen_in_file.emplace(key, &sourced);
    if (const auto stored = existing.find(key); stored != existing.end()) {
      if (stored->second == sourced.row) ++result.skipped_identical;
      else
        conflicts.push_back(cat("line ", sourced.line, ": ", key.first, " ", key.second, " differs from ", target,
                                "'s row (", first_difference(sourced.row, stored->second), ")"));
      continue;
    }
    to_insert.push_back(&sourced);
  }
  if (!conflicts.empty()) {
    std::string listed;
    for (size_t i = 0; i < conflicts.size() && i < 5; ++i) listed += cat(i ? "; " : "", conflicts[i]);
    if (conflicts.size() > 5) listed += cat("; and ", conflicts.size() - 5, " more");
    fail(source, ": ", conflicts.size(), " row(s) conflict with rows of the same tensor and type, nothing imported: ",
         listed);
  }

  SqliteStatement unit(*db_, "INSERT OR IGNORE INTO units (job_id, unit_key, finished_at) VALUES (?, ?, ?)",
                       cat("importing ", source));
  for (const SourcedRow *sourced : to_insert) {
    insert_measurement(result.job_id, sourced->row, cat(source, ": line ", sourced->line));
    unit.bind(1, result.job_id).bind(2, measurement_unit_key(sourced->row.tensor, sourced->row.type)).bind(3, now);
    unit.run();
    unit.reset();
    ++result.inserted;
  }
  SqliteStatement progress(*db_,
                           "UPDATE jobs SET units_done = (SELECT count(*) FROM units WHERE job_id = ?1), "
                           "units_total = max(units_total, (SELECT count(*) FROM units WHERE job_id = ?1)), "
                           "updated_at = ?2 WHERE id = ?1",
                           cat("importing ", source));
  progress.bind(1, result.job_id).bind(2, now).run();
  transaction.commit();
  return result;
}

}  // namespace qs
