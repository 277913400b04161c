// Futex wait/wake on Int32Array words (over SharedArrayBuffers).
//
// Why not Atomics.wait/notify: V8 parks Atomics.wait callers on its own wait
// list, so a FUTEX_WAKE from native code (the reader thread) never wakes them.
// Consumers that must be woken by native producers park here instead. Both
// sides use the PRIVATE flavour: a shared FUTEX_WAKE does not wake a private
// waiter, and every party is a thread of this process.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <string>

#include "args.h"
#include "errors.h"
#include "init.h"

namespace faultline {

namespace {

// The word array[index] of an Int32Array argument (TypeError/RangeError otherwise).
int32_t* ArgWord(const Napi::CallbackInfo& info) {
  ViewBytes view = ArgView(info, 0, "array");
  if (!view.isTypedArray || view.type != napi_int32_array) {
    throw Napi::TypeError::New(info.Env(), "array must be an Int32Array");
  }
  uint64_t index = FastU64(info, 1, "index");
  size_t count = view.length / sizeof(int32_t);
  if (index >= count) {
    throw Napi::RangeError::New(info.Env(), "index " + std::to_string(index) + " is out of bounds for an Int32Array of " +
                                                std::to_string(count) + " elements");
  }
  return reinterpret_cast<int32_t*>(view.data) + index;
}

double ArgNumber(const Napi::CallbackInfo& info, size_t index, const char* name) {
  double v;
  if (index >= info.Length() || napi_get_value_double(info.Env(), info[index], &v) != napi_ok || std::isnan(v)) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  }
  return v;
}

long Futex(int32_t* word, int op, int32_t value, const timespec* timeout) {
  return syscall(SYS_futex, word, op, value, timeout, nullptr, 0);
}

Napi::Value FutexWait(const Napi::CallbackInfo& info) {
  int32_t* word = ArgWord(info);
  double expected = ArgNumber(info, 2, "expected");
  if (std::floor(expected) != expected || expected < INT32_MIN || expected > UINT32_MAX) {
    throw Napi::TypeError::New(info.Env(), "expected must be an int32 (or uint32) value");
  }
  double timeoutMs = ArgNumber(info, 3, "timeoutMs");
  if (timeoutMs < 0) throw Napi::TypeError::New(info.Env(), "timeoutMs must be >= 0 (Infinity: no limit)");

  timespec timeout{};
  const timespec* limit = nullptr;  // FUTEX_WAIT's timeout is relative; null waits forever
  if (std::isfinite(timeoutMs)) {
    double seconds = std::floor(timeoutMs / 1000);
    timeout.tv_sec = static_cast<time_t>(seconds);
    timeout.tv_nsec = static_cast<long>((timeoutMs - seconds * 1000) * 1e6);
    limit = &timeout;
  }
  // A uint32 `expected` compares as the same 32 bits as the word.
  int32_t value = static_cast<int32_t>(static_cast<uint32_t>(static_cast<int64_t>(expected)));
  if (Futex(word, FUTEX_WAIT_PRIVATE, value, limit) == 0) return Napi::Number::New(info.Env(), 0);
  int err = errno;
  switch (err) {
    case EAGAIN:  // the word no longer held `expected`
      return Napi::Number::New(info.Env(), 1);
    case ETIMEDOUT:
      return Napi::Number::New(info.Env(), 2);
    case EINTR:  // a signal: callers re-check their condition, exactly as after a wake
      return Napi::Number::New(info.Env(), 0);
    default:
      throw ErrnoError(info.Env(), "futex(FUTEX_WAIT_PRIVATE)", err);
  }
}

Napi::Value FutexWake(const Napi::CallbackInfo& info) {
  int32_t* word = ArgWord(info);
  double count = ArgNumber(info, 2, "count");
  if (count < 0 || std::floor(count) != count) {
    throw Napi::TypeError::New(info.Env(), "count must be a non-negative integer (Infinity: all waiters)");
  }
  int32_t n = count >= INT_MAX ? INT_MAX : static_cast<int32_t>(count);
  long woken = Futex(word, FUTEX_WAKE_PRIVATE, n, nullptr);
  if (woken < 0) throw ErrnoError(info.Env(), "futex(FUTEX_WAKE_PRIVATE)", errno);
  return Napi::Number::New(info.Env(), static_cast<double>(woken));
}

}  // namespace

void InitFutex(Napi::Env env, Napi::Object exports) {
  exports.Set("futexWait", Napi::Function::New(env, FutexWait, "futexWait"));
  exports.Set("futexWake", Napi::Function::New(env, FutexWake, "futexWake"));
}

}  // namespace faultline
