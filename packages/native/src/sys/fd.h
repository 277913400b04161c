// File-descriptor helpers for the native layer: plain syscalls with the
// retry and error conventions every caller wants, and no N-API, so the reader
// thread and the socket thread can use them as well as the bindings.
//
// Convention: a result >= 0 is success, a negative one is -errno (the caller
// decides whether that is an error, and how to report it).
#pragma once
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace faultline::sys {

// close(2) where nothing can be done about a failure (cleanup paths). On Linux
// the fd is released even when close reports EINTR, so it is never retried.
inline void CloseQuietly(int fd) {
  if (fd >= 0) close(fd);
}

// Sets (`on`) or clears O_NONBLOCK on the open file behind `fd` if it
// differs (it is a property of the open file, shared by every fd that refers
// to it). Returns 0 or -errno; `*failed_call`, when given, names the fcntl
// that failed.
inline int SetNonBlockingFlag(int fd, bool on, const char** failed_call = nullptr) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) {
    if (failed_call != nullptr) *failed_call = "fcntl(F_GETFL)";
    return -errno;
  }
  if (((flags & O_NONBLOCK) != 0) == on) return 0;
  if (fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) != 0) {
    if (failed_call != nullptr) *failed_call = "fcntl(F_SETFL)";
    return -errno;
  }
  return 0;
}

inline int SetNonBlocking(int fd, const char** failed_call = nullptr) { return SetNonBlockingFlag(fd, true, failed_call); }
inline int SetBlocking(int fd, const char** failed_call = nullptr) { return SetNonBlockingFlag(fd, false, failed_call); }

// Runs `call` (a syscall returning ssize_t) again while a signal interrupts
// it before it did anything. Returns its result, or -errno.
template <typename Call>
inline ssize_t RetryOnEintr(Call call) {
  ssize_t n;
  do {
    n = call();
  } while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

// read(2): the byte count (0 at end of file) or -errno (-EAGAIN on an empty
// non-blocking fd).
inline ssize_t ReadRetryingEintr(int fd, void* buf, size_t len) {
  return RetryOnEintr([&] { return read(fd, buf, len); });
}

// recvmsg(2): the byte count (0 at end of stream) or -errno.
inline ssize_t RecvmsgRetryingEintr(int fd, msghdr* msg, int flags) {
  return RetryOnEintr([&] { return recvmsg(fd, msg, flags); });
}

}  // namespace faultline::sys
