// Measurement CSV: the exact text export writes, export -> import row for row, malformed files
// named by file and line, and merging shards into one job (identical rows skipped, conflicts refused).
#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "jobs/job_runner.h"
#include "jobs/job_store.h"
#include "jobs/job_test_support.h"
#include "jobs/measurements_csv.h"
#include "test_support.h"

namespace qs::measurements_csv_test {
namespace {

using test::error_of;

std::string read_text(const std::filesystem::path &path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

void write_text(const std::filesystem::path &path, const std::string &text) {
  std::ofstream(path, std::ios::binary) << text;
}

MeasurementRow row(const std::string &tensor, const std::string &type, double bits, int64_t params) {
  MeasurementRow r;
  r.tensor = tensor;
  r.type = type;
  r.bits = bits;
  r.params = params;
  return r;
}

std::vector<SourcedRow> sourced(const std::vector<MeasurementRow> &rows) {
  std::vector<SourcedRow> out;
  for (size_t i = 0; i < rows.size(); ++i) out.push_back({rows[i], static_cast<int64_t>(i + 2)});
  return out;
}

TEST(MeasurementsCsv, ExportWritesOnlyMeasuredMetricColumnsInTableOrder) {
  test::ScratchDir dir;
  std::vector<MeasurementRow> rows{
      row("blk.0.attn_q.weight", "Q4_K", 4.5, 4096 * 4096).set(Metric::kld, 0.125).set(Metric::rmse, 0.5),
      row("token_embd.weight", "Q8_0", 8.5, 1000).set(Metric::delta_ppl, -0.25),
  };
  write_measurements_csv(dir / "m.csv", rows);
  // Header per the format: fixed columns, then rmse, kld, delta_ppl (the metric table's order);
  // max_abs_error etc. hold no value anywhere, so they are left out. Empty cells: not measured.
  EXPECT_EQ(read_text(dir / "m.csv"),
            "tensor,type,bits,params,rmse,kld,delta_ppl\n"
            "blk.0.attn_q.weight,Q4_K,4.5,16777216,0.5,0.125,\n"
            "token_embd.weight,Q8_0,8.5,1000,,,-0.25\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "m.csv.tmp"));
}

TEST(MeasurementsCsv, ExportThenImportIsRowForRow) {
  test::ScratchDir dir;
  JobStore store(dir / "jobs.db", test::fast_store_options());
  std::vector<MeasurementRow> rows{
      row("blk.0.attn_q.weight", "Q4_K", 4.5, 16777216).set(Metric::rmse, 0.1).set(Metric::kld, 1e-300),
      row("blk.0.attn_k.weight", "IQ2_XXS", 2.0625, 1 << 20).set(Metric::relative_mse, 1.0 / 3.0),
      row("odd, \"quoted\" name", "Q6_K", 6.5625, 0).set(Metric::max_abs_error, 123456789.125),
      row("blk.1.ffn_down.weight", "Q8_0", 8.5, 7).set(Metric::delta_ppl, -0.0).set(Metric::layer_error,
                                                                                      std::numeric_limits<double>::infinity()),
      row("blk.1.ffn_up.weight", "Q5_K", 5.5, 9).set(Metric::weighted_relative_mse, 2.2250738585072014e-308),
  };
  const ImportResult first = store.import_measurements(std::nullopt, sourced(rows), "made-by-hand");
  write_measurements_csv(dir / "out.csv", store.measurements(first.job_id));
  const auto read_back = read_measurements_csv(dir / "out.csv");
  ASSERT_EQ(read_back.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(read_back[i].row, rows[i]) << i;
    EXPECT_EQ(read_back[i].line, static_cast<int64_t>(i + 2));
  }
  const ImportResult second = store.import_measurements(std::nullopt, read_back, (dir / "out.csv").string());
  EXPECT_EQ(second.inserted, 5);
  EXPECT_EQ(store.measurements(second.job_id), rows);
  const JobInfo job = store.job(second.job_id);
  EXPECT_EQ(job.kind, "import");
  EXPECT_EQ(job.state, JobState::done);
  EXPECT_EQ(job.units_done, 5);
  EXPECT_EQ(job.params["source"], (dir / "out.csv").string());
}

TEST(MeasurementsCsv, ReadsQuotedFieldsCrlfAndByteOrderMark) {
  test::ScratchDir dir;
  write_text(dir / "m.csv",
             "\xEF\xBB\xBFtensor,type,bits,params,kld\r\n"
             "\"a,b\",Q4_K,4.5,10,0.5\r\n"
             "\r\n"
             "\"say \"\"hi\"\"\",Q8_0, 8.5 ,20,\r\n");
  const auto rows = read_measurements_csv(dir / "m.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].row, row("a,b", "Q4_K", 4.5, 10).set(Metric::kld, 0.5));
  EXPECT_EQ(rows[1].row, row("say \"hi\"", "Q8_0", 8.5, 20));
  EXPECT_EQ(rows[1].line, 4);
}

struct MalformedCase {
  const char *text;
  const char *expected;  // must appear in the message, after "<file>: "
};

TEST(MeasurementsCsv, MalformedFilesNameFileAndLine) {
  test::ScratchDir dir;
  const MalformedCase cases[] = {
      {"", "line 1: empty file"},
      {"tensor,type,bpw,params\n", "line 1: the header must start with tensor,type,bits,params (found 'tensor,type,bpw,params')"},
      {"tensor,type,bits,params,speed\n", "line 1: unknown column 'speed'"},
      {"tensor,type,bits,params,kld,kld\n", "line 1: column 'kld' appears twice"},
      {"tensor,type,bits,params,rmse\na,Q4_K,4.5,1,0.1\nb,Q4_K,abc,1,0.1\n", "line 3: column bits: 'abc' is not a number"},
      {"tensor,type,bits,params,rmse\na,Q4_K,4.5,1.5,0.1\n", "line 2: column params: '1.5' is not a whole number"},
      {"tensor,type,bits,params,rmse\na,Q4_K,4.5,1,0.1x\n", "line 2: column rmse: '0.1x' is not a number"},
      {"tensor,type,bits,params,rmse\na,Q4_K,4.5,1,0.1\n\nb,Q4_K,4.5,1\n", "line 4: 4 fields, but the header has 5"},
      {"tensor,type,bits,params,rmse\na,Q4_K,4.5,1,0.1,7\n", "line 2: 6 fields, but the header has 5"},
      {"tensor,type,bits,params,rmse\na,Q4_K,4.5,1,nan\n", "line 2: a Q4_K: metric rmse is NaN"},
      {"tensor,type,bits,params\n,Q4_K,4.5,1\n", "line 2: column tensor is empty"},
      {"tensor,type,bits,params\n\"open,Q4_K,4.5,1\n", "line 2: a quoted field is never closed"},
  };
  for (const auto &c : cases) {
    write_text(dir / "bad.csv", c.text);
    const std::string message = error_of([&] { read_measurements_csv(dir / "bad.csv"); });
    EXPECT_NE(message.find((dir / "bad.csv").string() + ": " + c.expected), std::string::npos)
        << "text: " << c.text << "\nmessage: " << message;
  }
  const std::string missing = error_of([&] { read_measurements_csv(dir / "missing.csv"); });
  EXPECT_NE(missing.find((dir / "missing.csv").string()), std::string::npos) << missing;
}

TEST(MeasurementsCsv, ExportToUnwritablePlaceIsClearError) {
  test::ScratchDir dir;
  const auto path = dir / "no-such-dir" / "m.csv";
  const std::string message = error_of([&] { write_measurements_csv(path, {row("a", "Q4_K", 4.5, 1)}); });
  EXPECT_NE(message.find("cannot write " + path.string()), std::string::npos) << message;
}

TEST(MeasurementsCsv, ShardsMergeIntoOneJobDuplicatesSkippedConflictsRefused) {
  test::ScratchDir dir;
  JobStore store(dir / "jobs.db", test::fast_store_options());
  std::vector<MeasurementRow> shard1, shard2;
  for (int i = 0; i < 6; ++i) (i < 3 ? shard1 : shard2).push_back(test::fake_row(i));
  write_measurements_csv(dir / "shard1.csv", shard1);
  write_measurements_csv(dir / "shard2.csv", shard2);

  const ImportResult first =
      store.import_measurements(std::nullopt, read_measurements_csv(dir / "shard1.csv"), "shard1.csv");
  const ImportResult merged = store.import_measurements(first.job_id, read_measurements_csv(dir / "shard2.csv"), "shard2.csv");
  EXPECT_EQ(merged.job_id, first.job_id);
  EXPECT_EQ(merged.inserted, 3);
  std::vector<MeasurementRow> all = shard1;
  all.insert(all.end(), shard2.begin(), shard2.end());
  EXPECT_EQ(store.measurements(first.job_id), all);
  EXPECT_EQ(store.job(first.job_id).units_done, 6);

  const ImportResult again = store.import_measurements(first.job_id, read_measurements_csv(dir / "shard2.csv"), "shard2.csv");
  EXPECT_EQ(again.inserted, 0);
  EXPECT_EQ(again.skipped_identical, 3);

  // A shard whose row for unit 4 disagrees (another rmse) and a row for a new tensor: refused as a
  // whole, naming the line, the tensor, the type and the differing column.
  std::vector<MeasurementRow> conflicting{row("new.weight", "Q4_K", 4.5, 1), test::fake_row(4)};
  conflicting[1].set(Metric::rmse, 0.75);
  write_measurements_csv(dir / "bad-shard.csv", conflicting);
  const std::string message = error_of(
      [&] { store.import_measurements(first.job_id, read_measurements_csv(dir / "bad-shard.csv"), "bad-shard.csv"); });
  EXPECT_NE(message.find("bad-shard.csv: 1 row(s) conflict"), std::string::npos) << message;
  EXPECT_NE(message.find("line 3: blk.2.ffn_up.weight Q4_K differs from job 1's row (rmse 0.75 vs 0.2)"),
            std::string::npos)
      << message;
  EXPECT_EQ(store.measurements(first.job_id), all);  // not even the new tensor went in

  // Two rows in one file for the same tensor and type.
  const std::string twice = error_of([&] {
    store.import_measurements(std::nullopt, {{row("t", "Q4_K", 4.5, 1), 2}, {row("t", "Q4_K", 4.25, 1), 3}}, "twice.csv");
  });
  EXPECT_NE(twice.find("line 3: t Q4_K differs from line 2 (bits 4.25 vs 4.5)"), std::string::npos) << twice;
}

TEST(MeasurementsCsv, RowsMergedIntoAPausedJobAreNotMeasuredAgain) {
  test::ScratchDir dir;
  JobStore store(dir / "jobs.db", test::fast_store_options());
  const int64_t id = store.create_job("measure", nlohmann::json::object(), 8);
  const auto units = test::fake_units(8);
  // Units 0..2 measured here, then the job pauses (the unit function asks for it from outside).
  run_job(store, id, units, [&](const std::string &key) {
    if (key == units[2]) store.pause_job(id);
    return test::fake_result(key);
  });
  ASSERT_EQ(store.job(id).state, JobState::paused);
  ASSERT_EQ(store.job(id).units_done, 3);
  // Units 3..5 were measured on another machine.
  std::vector<SourcedRow> elsewhere;
  for (int i = 3; i < 6; ++i) elsewhere.push_back({test::fake_row(i), i});
  store.import_measurements(id, elsewhere, "other-machine.csv");
  EXPECT_EQ(store.job(id).units_done, 6);
  store.resume_job(id);
  std::vector<std::string> ran;
  const RunOutcome outcome = run_job(store, id, units, [&](const std::string &key) {
    ran.push_back(key);
    return test::fake_result(key);
  });
  EXPECT_EQ(outcome.state, JobState::done);
  EXPECT_EQ(ran, (std::vector<std::string>{units[6], units[7]}));
  std::vector<MeasurementRow> expected;
  for (int i = 0; i < 8; ++i) expected.push_back(test::fake_row(i));
  EXPECT_EQ(store.measurements(id), expected);
}

}  // namespace
}  // namespace qs::measurements_csv_test
