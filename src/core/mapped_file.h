// A read-only memory map of a whole file: the model readers hand out views into it instead of
// copying tensors, so a 10 GB checkpoint costs address space, not RAM.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

namespace qs {

class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::filesystem::path &path);  // throws qs::Error naming the path
  MappedFile(MappedFile &&other) noexcept;
  MappedFile &operator=(MappedFile &&other) noexcept;
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;
  ~MappedFile();

  const uint8_t *data() const { return data_; }
  size_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const std::filesystem::path &path() const { return path_; }
  // Drops the pages read so far from this process's resident set (the page cache keeps them; a
  // later read faults them in again). Streaming a model through once stays at the size of one
  // tensor instead of growing to the whole file.
  void release_pages() const;

 private:
  std::filesystem::path path_;
  const uint8_t *data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace qs
