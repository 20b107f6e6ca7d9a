// The k-quants' packed sub-block scale layouts (Q4_K/Q5_K scales and mins, Q3_K scales).
#include "quant/kquants.h"

namespace qs {

void pack_scales_mins_k4(const uint8_t scales[8], const uint8_t mins[8], uint8_t packed[12]) {
  for (int j = 0; j < 4; ++j) {
    packed[j] = static_cast<uint8_t>(scales[j] & 63);
    packed[j + 4] = static_cast<uint8_t>(mins[j] & 63);
  }
  for (int j = 4; j < 8; ++j) {
    packed[j + 4] = static_cast<uint8_t>((scales[j] & 0xF) | ((mins[j] & 0xF) << 4));
    packed[j - 4] |= static_cast<uint8_t>(((scales[j] >> 4) & 3) << 6);
    packed[j] |= static_cast<uint8_t>(((mins[j] >> 4) & 3) << 6);
  }
}

void unpack_scale_min_k4(int j, const uint8_t packed[12], uint8_t &scale, uint8_t &min) {
  if (j < 4) {
    scale = packed[j] & 63;
    min = packed[j + 4] & 63;
  } else {
    scale = static_cast<uint8_t>((packed[j + 4] & 0xF) | ((packed[j - 4] >> 6) << 4));
    min = static_cast<uint8_t>((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4));
  }
}

void pack_scales_q3_K(const int8_t scales[16], uint8_t packed[12]) {
  for (int i = 0; i < 12; ++i) packed[i] = 0;
  for (int j = 0; j < 16; ++j) {
    const int stored = (scales[j] + 32) & 63;
    if (j < 8) {
      packed[j] |= static_cast<uint8_t>(stored & 0xF);
    } else {
      packed[j - 8] |= static_cast<uint8_t>((stored & 0xF) << 4);
    }
    packed[8 + j % 4] |= static_cast<uint8_t>((stored >> 4) << (2 * (j / 4)));
  }
}

int8_t unpack_scale_q3_K(int j, const uint8_t packed[12]) {
  const int low = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4;
  const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
  return static_cast<int8_t>((low | (high << 4)) - 32);
}

}  // namespace qs
