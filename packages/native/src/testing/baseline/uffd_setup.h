/*
 * Creating and registering a userfaultfd, for the bench's C programs that own
 * the faulting memory (c_baseline.c, adopt_child.c). Any failure ends the
 * program with exit 1 and the reason, including what to change when the
 * machine refuses userfaultfd to this user.
 */
#ifndef FAULTLINE_UFFD_SETUP_H
#define FAULTLINE_UFFD_SETUP_H

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "args_core.h"

/* A new uffd opened with `flags` (O_CLOEXEC, O_NONBLOCK). */
static inline int uffd_open(int flags) {
  int fd = (int)syscall(SYS_userfaultfd, flags);
  if (fd >= 0) return fd;
  if (errno != EPERM) die("userfaultfd(2) failed: %s", strerror(errno));
  /* vm.unprivileged_userfaultfd=0: /dev/userfaultfd grants by file mode. */
  int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
  if (dev < 0) {
    die("userfaultfd(2) refused (EPERM) and /dev/userfaultfd not usable (%s): run as root, "
        "grant access to /dev/userfaultfd, or set vm.unprivileged_userfaultfd=1",
        strerror(errno));
  }
  fd = ioctl(dev, USERFAULTFD_IOC_NEW, flags);
  int saved = errno;
  close(dev);
  if (fd < 0) die("ioctl(USERFAULTFD_IOC_NEW) failed: %s", strerror(saved));
  return fd;
}

/* UFFDIO_API asking for `features` (allowed once per uffd). */
static inline void uffd_handshake(int fd, uint64_t features) {
  struct uffdio_api api;
  memset(&api, 0, sizeof(api));
  api.api = UFFD_API;
  api.features = features;
  if (ioctl(fd, UFFDIO_API, &api) != 0) die("ioctl(UFFDIO_API) failed: %s", strerror(errno));
}

/* Registers [start, start + length) for missing-page faults. */
static inline void uffd_register_missing(int fd, void* start, size_t length) {
  struct uffdio_register reg;
  memset(&reg, 0, sizeof(reg));
  reg.range.start = (uint64_t)(uintptr_t)start;
  reg.range.len = length;
  reg.mode = UFFDIO_REGISTER_MODE_MISSING;
  if (ioctl(fd, UFFDIO_REGISTER, &reg) != 0) die("ioctl(UFFDIO_REGISTER) failed: %s", strerror(errno));
}

#endif /* FAULTLINE_UFFD_SETUP_H */
