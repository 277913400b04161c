// fillPattern: the `pattern` resolver's content (pattern_word.h) written into
// a typed array natively. Resolvers fill up to readahead x page size per
// fault; in JS that ran at ~400 MB/s and bounded readahead throughput, here
// the per-word hash is a few instructions and the high half is hoisted.
#include <cstdint>
#include <string>

#include "args.h"
#include "init.h"
#include "pattern_word.h"

namespace faultline {

namespace {

// fillPattern(view, seed, firstWord): view's 32-bit word i (from its
// byteOffset) becomes pattern_word(seed, firstWord + i). The view's byte
// length must be a multiple of 4 and its byteOffset 4-aligned.
Napi::Value FillPattern(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ViewBytes view = ArgView(info, 0, "view");
  uint64_t seed = FastU64(info, 1, "seed");
  uint64_t first = FastU64(info, 2, "firstWord");
  if (seed > UINT32_MAX) throw Napi::RangeError::New(env, "seed must be a uint32");
  if (view.length % 4 != 0 || reinterpret_cast<uintptr_t>(view.data) % 4 != 0) {
    throw Napi::RangeError::New(env, "view must cover whole, 4-aligned 32-bit words (length " + std::to_string(view.length) + ")");
  }
  uint32_t* words = reinterpret_cast<uint32_t*>(view.data);
  size_t count = view.length / 4;
  const uint32_t s = static_cast<uint32_t>(seed);
  size_t i = 0;
  while (i < count) {
    uint64_t index = first + i;
    uint32_t hi = static_cast<uint32_t>(index >> 32);
    // Same as faultline_pattern_word, with the part that depends only on the
    // high half computed once per 2^32-word block.
    uint32_t mixed_hi = faultline_fmix32(hi ^ (s * 0x27d4eb2fu) ^ 0x165667b1u);
    size_t block_end = count;
    uint64_t next_block = (static_cast<uint64_t>(hi) + 1) << 32;
    if (next_block - index < count - i) block_end = i + static_cast<size_t>(next_block - index);
    for (; i < block_end; i++) {
      uint32_t lo = static_cast<uint32_t>(first + i);
      words[i] = faultline_fmix32((lo * 0x9e3779b1u) ^ mixed_hi);
    }
  }
  return env.Undefined();
}

}  // namespace

void InitPattern(Napi::Env env, Napi::Object exports) {
  exports.Set("fillPattern", Napi::Function::New(env, FillPattern, "fillPattern"));
}

}  // namespace faultline
