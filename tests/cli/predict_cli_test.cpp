// End to end: `measure` a few tensors of the shipped model at the kld level into a scratch
// database, then `predict` on that job, as a table and as JSON with whole mixes; and one-line
// errors with exit status 2 for a job without KLDs and for a probe type the job lacks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"

namespace qs::predict_cli_test {
namespace {

using test::run_quantscope;
using test::source_path;

// Runs `measure` into db and returns the new job's id.
int64_t measure_job(const std::string &db, const std::string &metric) {
  const auto r = run_quantscope("measure " + source_path("models/kjv-llama") + " --metric " + metric + " --text " +
                                source_path("models/kjv-llama/calibration.txt") +
                                " --ctx 64 --chunks 2 --tensors 'blk\\.[0-3]\\.attn_v' --types Q6_K,Q4_K,Q3_K,Q2_K"
                                " --json --db " + db);
  EXPECT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["state"], "done");
  return j["id"].get<int64_t>();
}

TEST(PredictCli, PrintsTheTableTheSummaryAndTheMixesOfAKldJob) {
  test::ScratchDir scratch;
  const std::string db = (scratch / "jobs.db").string();
  const int64_t id = measure_job(db, "kld");

  const auto table = run_quantscope("predict " + std::to_string(id) + " --sample 3 --db " + db);
  ASSERT_EQ(table.status, 0) << table.err;
  EXPECT_NE(table.out.find("4 tensors fitted from probes Q4_K, Q2_K"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("3 of 8 non-probe rows"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("Pearson r of ln predicted vs ln measured"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("blk.0.attn_v.weight"), std::string::npos) << table.out;

  const auto r = run_quantscope("predict " + std::to_string(id) + " --probes Q4_K,Q2_K --mixes Q4_K,Q3_K --json --db " + db);
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["job"], id);
  EXPECT_EQ(j["probes"], (std::vector<std::string>{"Q4_K", "Q2_K"}));
  ASSERT_EQ(j["fits"].size(), 4u);
  const auto &fit = j["fits"]["blk.2.attn_v.weight"];
  EXPECT_EQ(fit["x_metric"], "layer_error");
  EXPECT_EQ(fit["probes"], 2);
  EXPECT_GT(fit["a"].get<double>(), 0);
  EXPECT_GE(fit["b"].get<double>(), 0.5);
  EXPECT_LE(fit["b"].get<double>(), 2.0);
  EXPECT_EQ(j["summary"]["count"], 8);  // 4 tensors x the 2 non-probe types
  EXPECT_EQ(j["pairs"].size(), 8u);
  EXPECT_EQ(j["sample"].size(), 8u);    // --sample 20 by default covers them all
  for (const auto &p : j["pairs"]) {
    EXPECT_TRUE(p["type"] == "Q6_K" || p["type"] == "Q3_K") << p;
    EXPECT_GT(p["predicted"].get<double>(), 0);
    EXPECT_GT(p["measured"].get<double>(), 0);
  }
  EXPECT_TRUE(j["summary"]["log_pearson"].is_number());
  ASSERT_EQ(j["mixes"].size(), 2u);
  for (const auto &m : j["mixes"]) {
    EXPECT_EQ(m["tensors"], 4);
    EXPECT_EQ(m["left_out"], 0);
    // Dense model: the whole mix is within a factor 2 of the sum of its four single-tensor KLDs.
    EXPECT_GT(m["measured_kld"].get<double>(), m["measured_single_sum"].get<double>() / 2) << m;
    EXPECT_LT(m["measured_kld"].get<double>(), m["measured_single_sum"].get<double>() * 2) << m;
    EXPECT_TRUE(m["calibrated_leave_one_out"].is_number());
  }
  // The factor is the geometric mean of measured / predicted over both mixes.
  const double r0 = j["mixes"][0]["measured_kld"].get<double>() / j["mixes"][0]["predicted_sum"].get<double>();
  const double r1 = j["mixes"][1]["measured_kld"].get<double>() / j["mixes"][1]["predicted_sum"].get<double>();
  EXPECT_NEAR(j["mix_factor"].get<double>(), std::sqrt(r0 * r1), 1e-9 * std::sqrt(r0 * r1));
  EXPECT_EQ(j["calibration_mixes"], 2);
}

TEST(PredictCli, RefusesJobsWithoutKldAndProbesTheJobLacks) {
  test::ScratchDir scratch;
  const std::string db = (scratch / "jobs.db").string();
  const int64_t proxy = measure_job(db, "proxy");
  const auto r = run_quantscope("predict " + std::to_string(proxy) + " --db " + db);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("has no KLD measurements"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--metric kld"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

  const int64_t kld = measure_job(db, "kld");
  const auto bad_probe = run_quantscope("predict " + std::to_string(kld) + " --probes IQ4_XS --db " + db);
  EXPECT_EQ(bad_probe.status, 2);
  EXPECT_NE(bad_probe.err.find("no KLD row of type IQ4_XS"), std::string::npos) << bad_probe.err;
  const auto bad_mix = run_quantscope("predict " + std::to_string(kld) + " --mixes Q5_K --db " + db);
  EXPECT_EQ(bad_mix.status, 2);
  EXPECT_NE(bad_mix.err.find("no predictable row of type Q5_K"), std::string::npos) << bad_mix.err;
}

}  // namespace
}  // namespace qs::predict_cli_test
