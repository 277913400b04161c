// Filling memory with the `pattern` resolver's content (pattern_word.h; core's
// pattern-bytes.ts is the reference): used by fillPattern (pattern.cc) and by
// the native fast path of the fault waiter.
#pragma once
#include <cstddef>
#include <cstdint>

#include "pattern_word.h"

namespace faultline {

// words[i] = pattern_word(seed, first + i) for i < count, with the part that
// depends only on the high half of the index computed once per 2^32-word block.
inline void FillPatternWords(uint32_t* words, size_t count, uint32_t seed, uint64_t first) {
  size_t i = 0;
  while (i < count) {
    uint64_t index = first + i;
    uint32_t hi = static_cast<uint32_t>(index >> 32);
    uint32_t mixed_hi = faultline_fmix32(hi ^ (seed * 0x27d4eb2fu) ^ 0x165667b1u);
    size_t block_end = count;
    uint64_t next_block = (static_cast<uint64_t>(hi) + 1) << 32;
    if (next_block - index < count - i) block_end = i + static_cast<size_t>(next_block - index);
    for (; i < block_end; i++) {
      uint32_t lo = static_cast<uint32_t>(first + i);
      words[i] = faultline_fmix32((lo * 0x9e3779b1u) ^ mixed_hi);
    }
  }
}

}  // namespace faultline
