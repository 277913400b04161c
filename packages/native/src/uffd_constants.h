// userfaultfd ABI: the system's <linux/userfaultfd.h>, completed with what
// newer kernels added. Build machines may carry older uapi headers than the
// kernel they run (Debian 12 ships 6.1 headers; these machines run 6.18), so
// every definition below is guarded and matches include/uapi/linux/userfaultfd.h
// of Linux 6.8+, where these values are fixed ABI.
#pragma once
#include <linux/types.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

// Feature bits added after 6.1.
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)  // Linux 6.4
#endif
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON (1 << 14)  // Linux 6.6
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)  // Linux 6.7
#endif
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE (1 << 16)  // Linux 6.8
#endif

// UFFDIO_CONTINUE can install the page write-protected (Linux 6.3).
#ifndef UFFDIO_CONTINUE_MODE_WP
#define UFFDIO_CONTINUE_MODE_WP ((__u64)1 << 1)
#endif

// UFFDIO_MOVE (Linux 6.8): moves anonymous pages between two ranges of the
// uffd's own mm instead of copying them.
#ifndef _UFFDIO_MOVE
#define _UFFDIO_MOVE (0x05)
#define UFFDIO_MOVE_MODE_DONTWAKE ((__u64)1 << 0)
#define UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES ((__u64)1 << 1)
struct uffdio_move {
  __u64 dst;
  __u64 src;
  __u64 len;
  __u64 mode;
  __s64 move;  // out: bytes moved or -errno
};
#define UFFDIO_MOVE _IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)
#endif

// UFFDIO_POISON (Linux 6.6): installs a marker that raises SIGBUS on access.
#ifndef _UFFDIO_POISON
#define _UFFDIO_POISON (0x08)
#define UFFDIO_POISON_MODE_DONTWAKE ((__u64)1 << 0)
struct uffdio_poison {
  struct uffdio_range range;
  __u64 mode;
  __s64 updated;  // out: bytes poisoned or -errno
};
#define UFFDIO_POISON _IOWR(UFFDIO, _UFFDIO_POISON, struct uffdio_poison)
#endif

// /dev/userfaultfd (Linux 6.1) hands out uffds by file permission instead of
// by vm.unprivileged_userfaultfd / CAP_SYS_PTRACE.
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC 0xAA
#define USERFAULTFD_IOC_NEW _IO(USERFAULTFD_IOC, 0x00)
#endif

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

// The kernel's struct uffd_msg is 32 bytes; readers size their buffers on it.
static_assert(sizeof(struct uffd_msg) == 32, "struct uffd_msg is 32 bytes in the kernel ABI");
