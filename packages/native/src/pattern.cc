// fillPattern: the `pattern` resolver's content (pattern_word.h) written into
// a typed array natively. Resolvers fill up to readahead x page size per
// fault; in JS that ran at ~400 MB/s and bounded readahead throughput, here
// the per-word hash is a few instructions and the high half is hoisted.
#include <cstdint>
#include <string>

#include "args.h"
#include "init.h"
#include "pattern_fill.h"

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
  FillPatternWords(reinterpret_cast<uint32_t*>(view.data), view.length / 4, static_cast<uint32_t>(seed), first);
  return env.Undefined();
}

}  // namespace

void InitPattern(Napi::Env env, Napi::Object exports) {
  exports.Set("fillPattern", Napi::Function::New(env, FillPattern, "fillPattern"));
}

}  // namespace faultline
