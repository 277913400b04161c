/* The `pattern` resolver's content in C (plain C99 and C++), bit for bit the
 * same as packages/core/src/resolvers/pattern-bytes.ts: the little-endian
 * 32-bit word at byte offset 4*w of a region is pattern_word(seed, w). Used by
 * the C baseline handler and by C test programs that check what they read. */
#ifndef FAULTLINE_PATTERN_WORD_H
#define FAULTLINE_PATTERN_WORD_H
#include <stdint.h>

static inline uint32_t faultline_fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

static inline uint32_t faultline_pattern_word(uint32_t seed, uint64_t index) {
  uint32_t lo = (uint32_t)index;
  uint32_t hi = (uint32_t)(index >> 32);
  return faultline_fmix32((lo * 0x9e3779b1u) ^ faultline_fmix32(hi ^ (seed * 0x27d4eb2fu) ^ 0x165667b1u));
}

#endif
