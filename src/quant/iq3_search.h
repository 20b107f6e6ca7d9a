// The search behind the IQ3_XXS and IQ3_S quantizers, shared by both: per block of 256 values it
// finds the f16 block scale, the 4-bit sub-block scales, a grid point per group of 4 magnitudes and
// the signs. The bit packing into each type's block lives in iq3_blocks.h.
#pragma once

#include <cstdint>
#include <vector>

namespace qs {

enum class Iq3Kind { Xxs, S };

struct Iq3BlockCode {
  uint16_t d = 0;                // f16 block scale
  uint8_t sub_scale[8] = {};     // 4-bit sub-block scales l: a sub-block's step is d * (2l + 1) per lattice unit
  uint16_t grid_index[8][8] = {};  // [sub-block][group of 4]
  uint8_t signs[8][4] = {};      // [sub-block][group of 8]: bit i set = value i negative. IQ3_XXS keeps 7
                                 // bits; the 8th is implied by an even count of minus signs.
};

// Work space of the search (per-group tables, 128 KiB for IQ3_XXS, 256 KiB for IQ3_S), reused
// from block to block; one per thread.
struct Iq3Scratch {
  std::vector<float> tables;
  void reserve(Iq3Kind kind);
};

// Searches one block of 256 values (importance: their 256 weights, or null). Returns false for a
// block with nothing to store (all zeros, or too small for an f16 scale): it is stored as zero
// bytes. `fast` selects the vector kernels, which give bit-identical results.
bool search_iq3_block(Iq3Kind kind, const float *x, const float *importance, bool fast, Iq3Scratch &scratch,
                      Iq3BlockCode &code);

}  // namespace qs
