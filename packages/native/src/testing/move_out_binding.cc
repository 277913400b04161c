// moveRunOut for tests: the evictor's MoveRunOut (evict/move_out.h) with real
// UFFDIO_MOVE calls whose answers can be made to lie the way Linux 6.18's do
// under contention: the pages move, the call says it refused. The kernel does
// it rarely and only under a race no test can schedule; this makes the case
// the evictor must survive happen on every run.
#include "../errors.h"
#include "../evict/move_out.h"
#include "testing_init.h"

namespace faultline {

namespace {

// moveRunOut(uffd, pagemapFd, dst, src, pages, pageSize, lies): moves the run of `pages` pages at
// `src` into the empty slots at `dst`. Bit i of `lies` makes the i-th UFFDIO_MOVE call answer
// "refused" (0 bytes, as the kernel's EEXIST) whatever it moved. Returns { count, moved, calls }:
// the pages MoveRunOut says moved, its per-page flags, and how many calls it made.
Napi::Value MoveRunOutForTest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int uffd = ArgFd(info, 0, "uffd");
  const int pagemap_fd = ArgFd(info, 1, "pagemapFd");
  const uint64_t dst = ArgU64(info, 2, "dst"), src = ArgU64(info, 3, "src");
  const uint64_t pages = ArgU64(info, 4, "pages"), ps = ArgU64(info, 5, "pageSize");
  const uint64_t lies = ArgU64(info, 6, "lies");
  if (pages == 0 || pages > 512) throw Napi::RangeError::New(env, "pages must be 1..512");
  uint64_t calls = 0;
  auto move = [&](uint64_t to, uint64_t from, uint64_t len) -> uint64_t {
    const bool lie = calls < 53 && ((lies >> calls) & 1) != 0;
    calls++;
    uint64_t done = evict::UffdMove(uffd, to, from, len, UFFDIO_MOVE_MODE_DONTWAKE);
    return lie ? 0 : done;
  };
  std::vector<uint8_t> moved;
  std::vector<evict::PresentRange> scratch;
  int64_t count = evict::MoveRunOut(move, pagemap_fd, dst, src, pages, ps, &moved, &scratch);
  if (count < 0) throw ErrnoError(env, "ioctl(PAGEMAP_SCAN)", static_cast<int>(-count));
  Napi::Object r = Napi::Object::New(env);
  r.Set("count", Napi::Number::New(env, static_cast<double>(count)));
  Napi::Array flags = Napi::Array::New(env, moved.size());
  for (size_t i = 0; i < moved.size(); i++) flags.Set(i, Napi::Number::New(env, moved[i]));
  r.Set("moved", flags);
  r.Set("calls", Napi::Number::New(env, static_cast<double>(calls)));
  return r;
}

}  // namespace

void InitMoveOut(Napi::Env env, Napi::Object exports) {
  exports.Set("moveRunOut", Napi::Function::New(env, MoveRunOutForTest, "moveRunOut"));
}

}  // namespace faultline
