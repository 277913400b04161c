// Futex wait/wake on 32-bit words (of SharedArrayBuffers, in practice). The
// PRIVATE flavour throughout: every party is a thread of this process, and a
// shared FUTEX_WAKE would not wake a private waiter anyway.
#pragma once
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace faultline::sys {

// Sleeps while *word == expected, at most `timeout` (null: no limit). Returns
// 0 (woken, or the word had changed: -EAGAIN is folded in), -ETIMEDOUT or
// -EINTR; callers re-check their condition either way.
inline int FutexWait(int32_t* word, int32_t expected, const timespec* timeout) {
  if (syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, timeout, nullptr, 0) == 0) return 0;
  return errno == EAGAIN ? 0 : -errno;
}

// Wakes up to `count` sleepers of `word`. Returns how many, or -errno.
inline long FutexWake(int32_t* word, int32_t count) {
  long woken = syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
  return woken < 0 ? -errno : woken;
}

// A relative timeout of `ms` milliseconds.
inline timespec MillisecondsTimeout(int64_t ms) {
  return timespec{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1000000)};
}

}  // namespace faultline::sys
