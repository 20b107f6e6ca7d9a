// Reading and atomically replacing whole text files.
#include "core/text_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace qs {

std::string read_text_file(const std::filesystem::path &path, uint64_t max_bytes, std::string_view what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path.string(), ": cannot read: ", std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) fail(path.string(), ": cannot read: ", std::strerror(errno));
  if (!S_ISREG(info.st_mode)) fail(path.string(), ": not a regular file");
  if (static_cast<uint64_t>(info.st_size) > max_bytes)
    fail(path.string(), ": ", info.st_size, " bytes is too large for ", what, " (at most ", max_bytes, ")");
  std::string text(static_cast<size_t>(info.st_size), '\0');
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::read(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path.string(), ": cannot read: ", std::strerror(errno));
    if (n == 0) break;  // shrank while we read
    done += static_cast<size_t>(n);
  }
  text.resize(done);
  return text;
}

// path.tmp, flushed, then renamed over path: a crash or a full disk leaves the old file whole.
void write_file_atomically(const std::filesystem::path &path, const std::string &text) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(tmp.string(), ": cannot create: ", std::strerror(errno));
  const auto give_up = [&](const char *doing) {
    const int saved = errno;
    ::close(fd);
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    fail(tmp.string(), ": cannot ", doing, ": ", std::strerror(saved), " (", path.string(), " left as it was)");
  };
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) give_up("write");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) give_up("flush to disk");
  if (::close(fd) != 0) {
    const int saved = errno;
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    fail(tmp.string(), ": close failed: ", std::strerror(saved), " (", path.string(), " left as it was)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    fail(path.string(), ": cannot replace with ", tmp.string(), ": ", ec.message());
  }
}

}  // namespace qs
