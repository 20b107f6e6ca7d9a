// PathGuard (src/server/path_guard.h): a path is allowed only when, resolved as the kernel would
// open it (.. and symlinks), it lies under a root.
#include <gtest/gtest.h>

#include <filesystem>

#include "server/http_error.h"
#include "server/path_guard.h"
#include "test_support.h"

namespace qs::server::path_guard_test {
namespace {

namespace fs = std::filesystem;

int status_of(const std::function<void()> &call, std::string *field = nullptr) {
  try {
    call();
  } catch (const HttpError &e) {
    if (field) *field = e.field();
    return e.status();
  }
  return 200;
}

class ServerPathGuard : public ::testing::Test {
 protected:
  test::ScratchDir dir;
  fs::path root, outside;
  void SetUp() override {
    root = dir / "root";
    outside = dir / "outside";
    fs::create_directories(root / "models");
    fs::create_directories(outside);
    dir.write_text("root/models/a.txt", "a");
    dir.write_text("outside/secret.txt", "s");
    fs::create_symlink(outside / "secret.txt", root / "link-out.txt");
    fs::create_symlink(root / "models" / "a.txt", root / "link-in.txt");
  }
};

TEST_F(ServerPathGuard, InsideRootsResolvedAndRelativeToTheFirstRoot) {
  const PathGuard guard({root});
  EXPECT_EQ(guard.inside((root / "models/a.txt").string(), "model"), fs::canonical(root / "models/a.txt"));
  EXPECT_EQ(guard.inside("models/a.txt", "model"), fs::canonical(root / "models/a.txt"));
  EXPECT_EQ(guard.inside("models/../models/a.txt", "model"), fs::canonical(root / "models/a.txt"));
  EXPECT_EQ(guard.inside("link-in.txt", "model"), fs::canonical(root / "models/a.txt"));
  // Not existing yet (an output) is fine while it stays inside.
  EXPECT_EQ(guard.inside("new/out.yaml", "path"), fs::canonical(root) / "new/out.yaml");
}

TEST_F(ServerPathGuard, TraversalAbsoluteAndSymlinksOutAreForbiddenNamingTheField) {
  const PathGuard guard({root});
  for (const std::string &path : {std::string("../outside/secret.txt"), std::string("models/../../outside/secret.txt"),
                                  (outside / "secret.txt").string(), std::string("/etc/passwd"),
                                  std::string("link-out.txt"), (dir / "root-sibling").string(), std::string("/")}) {
    std::string field;
    EXPECT_EQ(status_of([&] { guard.inside(path, "text"); }, &field), 403) << path;
    EXPECT_EQ(field, "text") << path;
  }
  // A root's name as a prefix of another directory is not inside it.
  fs::create_directories(dir / "root2");
  EXPECT_EQ(status_of([&] { guard.inside((dir / "root2").string(), "text"); }), 403);
  std::string field;
  EXPECT_EQ(status_of([&] { guard.inside("", "model"); }, &field), 400);
  EXPECT_EQ(field, "model");
}

TEST_F(ServerPathGuard, SeveralRoots) {
  const PathGuard guard({root, outside});
  EXPECT_EQ(status_of([&] { guard.inside((outside / "secret.txt").string(), "text"); }), 200);
  EXPECT_EQ(status_of([&] { guard.inside("link-out.txt", "text"); }), 200);
  EXPECT_EQ(status_of([&] { guard.inside("/etc/passwd", "text"); }), 403);
}

TEST_F(ServerPathGuard, OutputsNeverOverAnInput) {
  const PathGuard guard({root});
  std::string field;
  EXPECT_EQ(status_of([&] { guard.output("models/a.txt", "path", {root / "models/a.txt"}); }, &field), 403);
  EXPECT_EQ(field, "path");
  EXPECT_EQ(status_of([&] { guard.output("models/b.gguf", "path", {root / "models"}); }), 403);
  EXPECT_EQ(status_of([&] { guard.output("link-in.txt", "path", {root / "models/a.txt"}); }), 403);
  EXPECT_EQ(status_of([&] { guard.output("out/s.yaml", "path", {root / "models"}); }), 200);
}

TEST_F(ServerPathGuard, RootsMustBeDirectories) {
  test::expect_error_containing([&] { PathGuard({dir / "missing"}); }, {"--root", "missing"});
  test::expect_error_containing([&] { PathGuard({root / "models/a.txt"}); }, {"--root"});
}

}  // namespace
}  // namespace qs::server::path_guard_test

namespace qs::server::path_guard_test {
namespace {

TEST(PathGuard, ReadOnlyRootsAreReadNeverWritten) {
  test::ScratchDir dir;
  std::filesystem::create_directories(dir / "root");
  std::filesystem::create_directories(dir / "cache/models--org--x/snapshots/abc");
  const PathGuard guard({dir / "root"}, {dir / "cache", dir / "not-yet"});
  const auto snapshot = (dir / "cache/models--org--x/snapshots/abc").string();
  EXPECT_EQ(guard.inside(snapshot, "model"), std::filesystem::canonical(snapshot));
  // Outputs go under a --root only.
  try {
    guard.output(snapshot + "/out.gguf", "output", {});
    ADD_FAILURE() << "an output in the read-only root was accepted";
  } catch (const HttpError &e) {
    EXPECT_EQ(e.status(), 403);
    EXPECT_EQ(e.field(), "output");
  }
  // A read-only root that does not exist yet still confines (nothing else is let in).
  std::filesystem::create_directories(dir / "not-yet");
  EXPECT_NO_THROW(guard.inside((dir / "not-yet").string(), "model"));
  EXPECT_THROW(guard.inside((dir / "elsewhere").string(), "model"), HttpError);
}

}  // namespace
}  // namespace qs::server::path_guard_test
