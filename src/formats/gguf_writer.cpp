// GGUF v3 writer. Tensor offsets are fixed by add_tensor() (shape and type give the size), so the
// header can be written before any data exists and tensors streamed one at a time, in the layout
// ggml's reader insists on: tensors in table order, each padded to the alignment.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "formats/gguf.h"

namespace qs::gguf {
namespace {

class ByteBuffer {
 public:
  template <class T>
  void put(T v) {
    append(&v, sizeof(T));
  }
  void put_string(std::string_view s) {
    put<uint64_t>(s.size());
    append(s.data(), s.size());
  }
  void append(const void *data, size_t n) {
    const size_t at = bytes.size();
    bytes.resize(at + n);
    if (n) std::memcpy(bytes.data() + at, data, n);
  }
  void put_value(const Value &value) {
    std::visit(
        [this](const auto &v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string>) {
            put_string(v);
          } else if constexpr (std::is_same_v<T, Array>) {
            put<uint32_t>(static_cast<uint32_t>(v.element_type));
            put<uint64_t>(v.items.size());
            for (const auto &item : v.items) put_value(item);
          } else if constexpr (std::is_same_v<T, bool>) {
            put<uint8_t>(v ? 1 : 0);
          } else {
            put<T>(v);
          }
        },
        value.storage);
  }
  std::vector<uint8_t> bytes;
};


void check_array_types(const std::string &key, const Value &value) {
  if (const auto *array = std::get_if<Array>(&value.storage)) {
    for (const auto &item : array->items) {
      if (item.type() != array->element_type) {
        fail("GGUF key '", key, "': array of ", value_type_name(array->element_type), " holds a ",
             value_type_name(item.type()));
      }
      check_array_types(key, item);
    }
  }
}

void write_all(int fd, const uint8_t *data, size_t n, uint64_t offset, const std::filesystem::path &path) {
  while (n > 0) {
    const ssize_t written = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (written < 0) {
      if (errno == EINTR) continue;
      fail(path.string(), ": write failed: ", std::strerror(errno));
    }
    data += written;
    n -= static_cast<size_t>(written);
    offset += static_cast<uint64_t>(written);
  }
}

}  // namespace

GgufWriter::GgufWriter(std::filesystem::path path, uint32_t alignment)
    : path_(std::move(path)), tmp_path_(path_.string() + ".tmp"), alignment_(alignment) {
  if (alignment_ == 0 || (alignment_ & (alignment_ - 1)) != 0) fail("GGUF alignment ", alignment_, " is not a power of two");
  if (alignment_ != kDefaultAlignment) set("general.alignment", Value(alignment_));
}

GgufWriter::~GgufWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!finished_ && !keep_partial_) {
    std::error_code ignored;
    std::filesystem::remove(tmp_path_, ignored);
  }
}

void GgufWriter::set(std::string key, Value value) {
  if (header_written_) fail("GGUF writer: metadata '", key, "' set after tensor data was written");
  check_array_types(key, value);
  for (auto &kv : metadata_) {
    if (kv.key == key) {
      kv.value = std::move(value);
      return;
    }
  }
  metadata_.push_back({std::move(key), std::move(value)});
}

void GgufWriter::add_tensor(std::string name, std::vector<int64_t> shape, GgmlType type) {
  if (header_written_) fail("GGUF writer: tensor '", name, "' added after tensor data was written");
  if (shape.empty() || shape.size() > 4) fail("GGUF writer: tensor '", name, "' must have 1 to 4 dimensions");
  for (const auto &t : tensors_)
    if (t.name == name) fail("GGUF writer: duplicate tensor name '", name, "'");
  TensorInfo info;
  info.name = std::move(name);
  info.type = type;
  try {
    info.n_bytes = tensor_bytes(type, shape);
  } catch (const Error &e) {
    fail("GGUF writer: tensor '", info.name, "': ", e.what());
  }
  info.shape = std::move(shape);
  info.offset = tensors_.empty() ? 0 : padded_bytes(tensors_.back().offset + tensors_.back().n_bytes, alignment_);
  tensors_.push_back(std::move(info));
  written_.push_back(false);
  part_bytes_.push_back(0);
}

std::vector<uint8_t> GgufWriter::header_bytes() const {
  ByteBuffer header;
  header.put<uint32_t>(kMagic);
  header.put<uint32_t>(3);
  header.put<uint64_t>(tensors_.size());
  header.put<uint64_t>(metadata_.size());
  for (const auto &kv : metadata_) {
    header.put_string(kv.key);
    header.put<uint32_t>(static_cast<uint32_t>(kv.value.type()));
    header.put_value(kv.value);
  }
  for (const auto &t : tensors_) {
    header.put_string(t.name);
    header.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (int64_t d : t.shape) header.put<uint64_t>(static_cast<uint64_t>(d));
    header.put<uint32_t>(static_cast<uint32_t>(t.type));
    header.put<uint64_t>(t.offset);
  }
  header.bytes.resize(static_cast<size_t>(padded_bytes(header.bytes.size(), alignment_)), 0);
  return std::move(header.bytes);
}

uint64_t GgufWriter::data_section_bytes() const {
  // The last tensor is padded too (ggml counts padded sizes when it checks the data section).
  return tensors_.empty() ? 0 : padded_bytes(tensors_.back().offset + tensors_.back().n_bytes, alignment_);
}

uint64_t GgufWriter::file_bytes() const {
  return (header_written_ ? data_offset_ : header_bytes().size()) + data_section_bytes();
}

void GgufWriter::write_header() {
  const std::vector<uint8_t> header = header_bytes();
  fd_ = ::open(tmp_path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(tmp_path_.string(), ": cannot create: ", std::strerror(errno));
  write_all(fd_, header.data(), header.size(), 0, tmp_path_);
  data_offset_ = header.size();
  header_written_ = true;
  // Full size from the start: a resumed run recognises a partial file by its header and size.
  if (::ftruncate(fd_, static_cast<off_t>(file_bytes())) != 0)
    fail(tmp_path_.string(), ": cannot size file: ", std::strerror(errno));
}

size_t GgufWriter::tensor_index(std::string_view name) const {
  for (size_t i = 0; i < tensors_.size(); ++i)
    if (tensors_[i].name == name) return i;
  return tensors_.size();
}

bool GgufWriter::resume_partial(std::span<const std::string> written) {
  if (header_written_) fail("GGUF writer: resume_partial after data was written");
  std::vector<size_t> indices;
  for (const auto &name : written) {
    const size_t index = tensor_index(name);
    if (index == tensors_.size()) return false;
    indices.push_back(index);
  }
  const int fd = ::open(tmp_path_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  const std::vector<uint8_t> header = header_bytes();
  std::vector<uint8_t> on_disk(header.size());
  struct stat st {};
  const bool same = ::fstat(fd, &st) == 0 &&
                    static_cast<uint64_t>(st.st_size) == header.size() + data_section_bytes() &&
                    ::pread(fd, on_disk.data(), on_disk.size(), 0) == static_cast<ssize_t>(on_disk.size()) &&
                    on_disk == header;
  if (!same) {
    ::close(fd);
    return false;
  }
  fd_ = fd;
  data_offset_ = header.size();
  header_written_ = true;
  for (size_t index : indices) written_[index] = true;
  return true;
}

void GgufWriter::sync() {
  if (fd_ >= 0 && ::fdatasync(fd_) != 0) fail(tmp_path_.string(), ": cannot flush to disk: ", std::strerror(errno));
}

void GgufWriter::write_tensor_data(std::string_view name, std::span<const uint8_t> bytes) {
  const size_t index = tensor_index(name);
  if (index == tensors_.size()) fail("GGUF writer: no tensor named '", name, "' was added");
  if (bytes.size() != tensors_[index].n_bytes)
    fail("GGUF writer: tensor '", name, "' needs ", tensors_[index].n_bytes, " bytes, got ", bytes.size());
  write_tensor_part(name, bytes);
}

void GgufWriter::write_tensor_part(std::string_view name, std::span<const uint8_t> bytes) {
  const size_t index = tensor_index(name);
  if (index == tensors_.size()) fail("GGUF writer: no tensor named '", name, "' was added");
  const TensorInfo &t = tensors_[index];
  if (written_[index]) fail("GGUF writer: tensor '", name, "' written twice");
  uint64_t &done = part_bytes_[index];
  if (done + bytes.size() > t.n_bytes)
    fail("GGUF writer: tensor '", name, "' needs ", t.n_bytes, " bytes, got ", done + bytes.size());
  if (!header_written_) write_header();
  write_all(fd_, bytes.data(), bytes.size(), data_offset_ + t.offset + done, tmp_path_);
  done += bytes.size();
  written_[index] = done == t.n_bytes;
}

void GgufWriter::finish() {
  if (finished_) return;
  for (size_t i = 0; i < tensors_.size(); ++i)
    if (!written_[i]) fail("GGUF writer: tensor '", tensors_[i].name, "' has no data");
  if (!header_written_) write_header();
  if (::fsync(fd_) != 0) fail(tmp_path_.string(), ": cannot flush to disk: ", std::strerror(errno));
  if (::close(fd_) != 0) {
    fd_ = -1;
    fail(tmp_path_.string(), ": close failed: ", std::strerror(errno));
  }
  fd_ = -1;
  std::error_code ec;
  std::filesystem::rename(tmp_path_, path_, ec);
  if (ec) fail(path_.string(), ": cannot move the finished file into place: ", ec.message());
  finished_ = true;
}

}  // namespace qs::gguf
