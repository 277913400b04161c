// Eventfds as wake-up channels, and the epoll-with-an-eventfd shape the reader
// thread (its control eventfd) and the direct poll set (its kick eventfd) both
// wait on. No N-API: results are 0/-errno, callers turn them into errors.
#pragma once
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "fd.h"

namespace faultline::sys {

// Adds `count` to an eventfd (wakes its pollers). Returns 0 or -errno. A
// saturated counter (EAGAIN on a non-blocking eventfd) already means
// "signalled", so it counts as success.
inline int EventfdSignal(int fd, uint64_t count = 1) {
  if (write(fd, &count, sizeof count) >= 0 || errno == EAGAIN) return 0;
  return -errno;
}

// Takes the eventfd's counter (in semaphore mode: one unit) so it stops
// polling readable. Nothing to take (EAGAIN) is fine: another waiter took it.
inline void EventfdTake(int fd) {
  uint64_t count;
  ssize_t r = read(fd, &count, sizeof count);
  (void)r;
}

struct EpollWithEventfd {
  int epoll_fd = -1;
  int event_fd = -1;
};

// An epoll instance with a new eventfd (EFD_CLOEXEC | EFD_NONBLOCK |
// `eventfd_flags`) registered for EPOLLIN with `tag` as its epoll data.
// Returns 0, or -errno with `*failed_call` naming the call that failed and
// nothing left open.
inline int OpenEpollWithEventfd(int eventfd_flags, uint64_t tag, EpollWithEventfd* out, const char** failed_call) {
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) {
    *failed_call = "epoll_create1";
    return -errno;
  }
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | eventfd_flags);
  if (efd < 0) {
    int err = errno;
    CloseQuietly(epfd);
    *failed_call = "eventfd";
    return -err;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev) != 0) {
    int err = errno;
    CloseQuietly(efd);
    CloseQuietly(epfd);
    *failed_call = "epoll_ctl(EPOLL_CTL_ADD)";
    return -err;
  }
  out->epoll_fd = epfd;
  out->event_fd = efd;
  return 0;
}

}  // namespace faultline::sys
