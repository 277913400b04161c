// Reading a batch of uffd_msg from a userfaultfd: the one read(2) the reader
// thread and the direct poll set share (each then encodes the messages as ring
// records with ring::EncodeUffdMsg). No N-API: the reader thread calls it.
#pragma once
#include <linux/userfaultfd.h>

#include <cstdint>

#include "sys/fd.h"

namespace faultline {

// Reads up to `max` messages from the non-blocking uffd `fd` into `out` with
// one read(2) (the kernel returns several at once; pending faults come before
// events). Returns the number of messages read, 0 at end of file, or -errno:
// -EAGAIN when nothing is pending (normal: another thread may have read it
// first, or the fault was resolved before anyone read it).
inline int ReadUffdMsgs(int fd, uffd_msg* out, uint32_t max) {
  ssize_t got = sys::ReadRetryingEintr(fd, out, max * sizeof(uffd_msg));
  if (got < 0) return static_cast<int>(got);
  return static_cast<int>(static_cast<size_t>(got) / sizeof(uffd_msg));
}

}  // namespace faultline
