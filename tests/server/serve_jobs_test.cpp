// Jobs in `quantscope serve`, end to end on the shipped model: a measure job created through the
// API runs to done in the server and its rows come back page by page; a job the CLI runs in its
// own process shows in the list and on the event stream; pause and resume through the API; a
// client hanging up mid-stream leaves the server answering; SIGTERM pauses the running job.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/server_process.h"

namespace qs::serve_jobs_test {
namespace {

using test::body_json;
using test::ServerProcess;

class ServerJobs : public ::testing::Test {
 protected:
  test::ScratchDir dir;
  std::string db = (dir / "jobs.db").string();

  std::vector<std::string> args() const { return {"--db", db, "--root", test::kShippedModel}; }

  // A proxy sweep of two layers x 7 matrices x 2 types: well under a second.
  static nlohmann::json quick_measure() {
    return {{"kind", "measure"},
            {"params", {{"model", test::kShippedModel}, {"types", {"Q8_0", "Q4_K"}}, {"tensors", "blk\\.[01]\\."}}}};
  }
  // A KLD sweep that runs for seconds, long enough to pause in the middle.
  static nlohmann::json slow_measure() {
    return {{"kind", "measure"},
            {"params", {{"model", test::kShippedModel}, {"metric", "kld"}, {"text", test::kShippedText},
                        {"ctx", 128}, {"chunks", 6}, {"types", {"Q6_K", "Q4_K", "Q2_K"}}}}};
  }

  static int64_t created_id(const httplib::Result &r) {
    EXPECT_TRUE(r);
    if (!r) return -1;
    EXPECT_EQ(r->status, 201) << r->body;
    return body_json(r).value("id", int64_t{-1});
  }
};

TEST_F(ServerJobs, MeasureJobRunsToDoneAndItsRowsComeBackInPages) {
  ServerProcess server(dir, args());
  ASSERT_TRUE(server.started()) << server.printed();
  const int64_t id = created_id(server.post("/api/jobs", quick_measure()));
  const auto job = test::wait_for_job_to_stop(server, id);
  ASSERT_EQ(job["state"], "done") << job.dump();
  EXPECT_EQ(job["units_total"], 28);  // 2 layers x 7 matrices x 2 types
  EXPECT_EQ(job["measurements"]["rows"], 28);

  const auto all = body_json(server.get("/api/jobs/" + std::to_string(id) + "/measurements"));
  ASSERT_EQ(all["rows"].size(), 28u);
  EXPECT_EQ(all["next"], 28);
  const auto &row = all["rows"][0];
  EXPECT_EQ(row["tensor"].get<std::string>().rfind("blk.0.", 0), 0u) << row.dump();
  EXPECT_TRUE(row["type"] == "Q8_0" || row["type"] == "Q4_K");
  EXPECT_GT(row["metrics"]["rmse"].get<double>(), 0);
  EXPECT_FALSE(row["metrics"].contains("kld"));  // proxy only: no value, no key

  const auto rest = body_json(server.get("/api/jobs/" + std::to_string(id) + "/measurements?after=20"));
  ASSERT_EQ(rest["rows"].size(), 8u);
  EXPECT_EQ(rest["rows"][0], all["rows"][20]);
  EXPECT_EQ(rest["next"], 28);
  EXPECT_EQ(body_json(server.get("/api/jobs/" + std::to_string(id) + "/measurements?after=28"))["rows"].size(), 0u);

  // The same request again continues nothing and makes a new job (the first is done).
  const auto listed = body_json(server.get("/api/jobs"));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], id);
  EXPECT_EQ(server.stop(), 0) << server.stderr_text();
}

TEST_F(ServerJobs, JobOfTheCliShowsInTheListAndOnTheEventStream) {
  ServerProcess server(dir, args());
  ASSERT_TRUE(server.started()) << server.printed();
  const test::CliRun cli = test::run_cli(dir, {"measure", test::kShippedModel, "--types", "Q8_0", "--tensors",
                                               "blk\\.0\\.attn_q", "--db", db, "--json"});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const int64_t id = nlohmann::json::parse(cli.out)["id"];

  const auto listed = body_json(server.get("/api/jobs"));
  ASSERT_EQ(listed.size(), 1u) << listed.dump();
  EXPECT_EQ(listed[0]["id"], id);
  EXPECT_EQ(listed[0]["state"], "done");

  // Every job is sent once at connect; the client hangs up once it has seen this one.
  std::string received;
  const std::string wanted = "\"id\":" + std::to_string(id) + ",";
  auto client = server.client();
  client.Get("/api/events", [&](const char *data, size_t n) {
    received.append(data, n);
    return received.find(wanted) == std::string::npos;
  });
  EXPECT_NE(received.find("event: job\ndata: {"), std::string::npos) << received;
  EXPECT_NE(received.find(wanted), std::string::npos) << received;
  EXPECT_EQ(server.get("/api/info")->status, 200);
}

TEST_F(ServerJobs, ClientsHangingUpMidStreamLeaveTheServerAnswering) {
  ServerProcess server(dir, args());
  ASSERT_TRUE(server.started()) << server.printed();
  // Raw sockets that read a little of the stream and close, some without reading at all.
  for (int i = 0; i < 40; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(server.port()));
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address), 0);
    const std::string request = "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    ASSERT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
    if (i % 2 == 0) {
      char buffer[64];
      EXPECT_GT(read(fd, buffer, sizeof buffer), 0);
    }
    close(fd);
  }
  // Jobs change while the abandoned streams are still polling: writes to them fail, not the server.
  const int64_t id = created_id(server.post("/api/jobs", quick_measure()));
  const auto job = test::wait_for_job(server, id, [](const nlohmann::json &j) { return j["state"] == "done"; });
  EXPECT_EQ(job["state"], "done");
  EXPECT_EQ(server.get("/api/info")->status, 200);
  EXPECT_TRUE(server.alive());
  EXPECT_EQ(server.stop(), 0) << server.stderr_text();
}

TEST_F(ServerJobs, PauseAndResumeThroughTheApi) {
  ServerProcess server(dir, args());
  ASSERT_TRUE(server.started()) << server.printed();
  const int64_t id = created_id(server.post("/api/jobs", slow_measure()));
  const std::string job_path = "/api/jobs/" + std::to_string(id);
  test::wait_for_job(server, id, [](const nlohmann::json &j) { return j["units_done"].get<int64_t>() > 0; });

  const auto paused = server.post(job_path + "/pause", nlohmann::json::object());
  ASSERT_EQ(paused->status, 200) << paused->body;
  EXPECT_EQ(body_json(paused)["changed"], true);
  auto job = test::wait_for_job(server, id, [](const nlohmann::json &j) { return j["state"] != "running"; });
  ASSERT_EQ(job["state"], "paused") << job.dump();
  const int64_t stopped_at = job["units_done"];
  EXPECT_LT(stopped_at, job["units_total"].get<int64_t>());

  // A paused job cannot be paused into anything else, but it can be cancelled or resumed; a
  // finished one cannot be resumed (409).
  EXPECT_EQ(body_json(server.post(job_path + "/pause", nlohmann::json::object()))["changed"], false);
  const auto resumed = server.post(job_path + "/resume", nlohmann::json::object());
  ASSERT_EQ(resumed->status, 200) << resumed->body;
  EXPECT_EQ(body_json(resumed)["state"], "queued");
  job = test::wait_for_job_to_stop(server, id);
  ASSERT_EQ(job["state"], "done") << job.dump();
  EXPECT_EQ(job["units_done"], job["units_total"]);
  EXPECT_EQ(job["measurements"]["rows"], job["units_total"]);  // no unit lost or repeated
  const auto again = server.post(job_path + "/resume", nlohmann::json::object());
  EXPECT_EQ(again->status, 409) << again->body;
  EXPECT_EQ(server.post("/api/jobs/999/pause", nlohmann::json::object())->status, 404);
}

TEST_F(ServerJobs, StoppingTheServerPausesItsRunningJob) {
  int64_t id = 0;
  {
    ServerProcess server(dir, args());
    ASSERT_TRUE(server.started()) << server.printed();
    id = created_id(server.post("/api/jobs", slow_measure()));
    test::wait_for_job(server, id, [](const nlohmann::json &j) { return j["units_done"].get<int64_t>() > 0; });
    EXPECT_EQ(server.stop(), 0) << server.stderr_text();
  }
  const test::CliRun shown = test::run_cli(dir, {"jobs", "show", std::to_string(id), "--json", "--db", db});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  const auto job = nlohmann::json::parse(shown.out);
  EXPECT_EQ(job["state"], "paused") << job.dump();
  EXPECT_EQ(job["measurements"]["rows"], job["units_done"]);
}

}  // namespace
}  // namespace qs::serve_jobs_test

namespace qs::serve_jobs_test {
namespace {

class ServerQuantize : public ::testing::Test {
 protected:
  test::ScratchDir dir;
  std::string db = (dir / "jobs.db").string();
  std::vector<std::string> args() const {
    return {"--db", db, "--root", test::kShippedModel, "--root", dir.path().string()};
  }
};

TEST_F(ServerQuantize, QuantizeJobWritesTheSameFileAsTheCliAndRefusesOutputsOverInputs) {
  ServerProcess server(dir, args());
  ASSERT_TRUE(server.started()) << server.printed();
  const std::string output = (dir / "api.gguf").string();
  const auto created = server.post("/api/jobs", {{"kind", "quantize"},
                                                 {"params", {{"model", test::kShippedModel}, {"preset", "Q4_K_M"},
                                                             {"output", output}}}});
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  const int64_t id = body_json(created)["id"];
  const auto job = test::wait_for_job_to_stop(server, id);
  ASSERT_EQ(job["state"], "done") << job.dump();
  ASSERT_EQ(job["artifacts"].size(), 1u) << job.dump();
  EXPECT_EQ(job["artifacts"][0]["path"], output);

  // The CLI's file for the same request, byte for byte.
  const std::string cli_output = (dir / "cli.gguf").string();
  const test::CliRun cli = test::run_cli(dir, {"quantize", test::kShippedModel, "--preset", "Q4_K_M", "-o", cli_output,
                                               "--db", (dir / "cli.db").string()});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(test::slurp(output), test::slurp(cli_output));

  // An output inside the input model, or outside every root: refused, naming the field; no job.
  for (const std::string &bad : {test::kShippedModel + "/model.safetensors", std::string("/tmp/elsewhere.gguf")}) {
    const auto refused = server.post("/api/jobs", {{"kind", "quantize"},
                                                   {"params", {{"model", test::kShippedModel}, {"type", "Q4_K"},
                                                               {"output", bad}}}});
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 403) << bad << " " << refused->body;
    EXPECT_EQ(body_json(refused)["error"]["field"], "params.output") << refused->body;
  }
  // Neither a type, a preset nor a strategy: 400.
  const auto none = server.post("/api/jobs", {{"kind", "quantize"},
                                              {"params", {{"model", test::kShippedModel}, {"output", output + "2"}}}});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 400) << none->body;
  EXPECT_EQ(body_json(server.get("/api/jobs")).size(), 1u);
  // A quantize job has no comparison.
  const auto compare = server.get("/api/jobs/" + std::to_string(id) + "/compare");
  ASSERT_TRUE(compare);
  EXPECT_EQ(compare->status, 404);
  EXPECT_EQ(server.stop(), 0) << server.stderr_text();
}

}  // namespace
}  // namespace qs::serve_jobs_test
