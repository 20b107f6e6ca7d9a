// Memory on the GPU that frees itself: grows (never shrinks, contents not kept) to the size a
// step needs, so a pass allocates only on its first chunk. Plain cudaMalloc, never managed memory.
#pragma once

#include <cstddef>
#include <utility>

#include <cuda_runtime_api.h>

#include "gpu/cuda_check.h"

namespace qs::gpu {

// dst[0, n) = src[0, n), both in GPU memory, ordered on the stream.
template <typename T>
void copy_on_device(T *dst, const T *src, size_t n, cudaStream_t stream) {
  cuda_check(cudaMemcpyAsync(dst, src, n * sizeof(T), cudaMemcpyDeviceToDevice, stream), "copying on the GPU");
}

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t n) { reserve(n); }
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  DeviceBuffer(DeviceBuffer &&other) noexcept { swap(other); }
  DeviceBuffer &operator=(DeviceBuffer &&other) noexcept {
    swap(other);
    return *this;
  }
  ~DeviceBuffer() {
    if (data_) cudaFree(data_);
  }

  // At least n elements; the old contents are dropped when it has to grow.
  T *reserve(size_t n) {
    if (n > capacity_) {
      if (data_) cudaFree(data_);
      data_ = nullptr;
      capacity_ = 0;
      void *p = nullptr;
      cuda_check(cudaMalloc(&p, n * sizeof(T)), "allocating GPU memory");
      data_ = static_cast<T *>(p);
      capacity_ = n;
    }
    return data_;
  }
  // Copies n host values in (growing first), ordered on the stream.
  void upload(const T *host, size_t n, cudaStream_t stream) {
    reserve(n);
    cuda_check(cudaMemcpyAsync(data_, host, n * sizeof(T), cudaMemcpyHostToDevice, stream), "copying to the GPU");
  }
  // Copies n values from GPU memory in (growing first), ordered on the stream.
  void assign(const T *device, size_t n, cudaStream_t stream) { copy_on_device(reserve(n), device, n, stream); }
  void download(T *host, size_t n, cudaStream_t stream) const {
    cuda_check(cudaMemcpyAsync(host, data_, n * sizeof(T), cudaMemcpyDeviceToHost, stream), "copying from the GPU");
  }

  T *data() { return data_; }
  const T *data() const { return data_; }
  size_t capacity() const { return capacity_; }

 private:
  void swap(DeviceBuffer &other) noexcept {
    std::swap(data_, other.data_);
    std::swap(capacity_, other.capacity_);
  }
  T *data_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace qs::gpu
