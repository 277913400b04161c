// An epoll instance with an eventfd already in its set: the shape both the
// reader thread (its control eventfd) and the direct poll set (its kick
// eventfd) wait on. Throws the errno error of the failing call and leaks
// nothing on failure.
#pragma once
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "errors.h"

namespace faultline {

struct EpollWithEventfd {
  int epoll_fd;
  int event_fd;
};

// `eventfd_flags` are added to EFD_CLOEXEC | EFD_NONBLOCK; the eventfd is
// registered for EPOLLIN with `tag` as its epoll data.
inline EpollWithEventfd OpenEpollWithEventfd(Napi::Env env, int eventfd_flags, uint64_t tag) {
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) throw ErrnoError(env, "epoll_create1", errno);
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | eventfd_flags);
  if (efd < 0) {
    int err = errno;
    close(epfd);
    throw ErrnoError(env, "eventfd", err);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev) != 0) {
    int err = errno;
    close(efd);
    close(epfd);
    throw ErrnoError(env, "epoll_ctl(EPOLL_CTL_ADD)", err);
  }
  return {epfd, efd};
}

}  // namespace faultline
