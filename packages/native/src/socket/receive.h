// Reading one message from a connected Unix stream socket together with the
// file descriptors attached to it (SCM_RIGHTS), within a byte budget. No N-API.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "../sys/fd.h"

namespace faultline {

// More fds than any handshake we know of (Firecracker sends 1, or 3 for
// guest_memfd VMs). The kernel closes the ones beyond this and says so.
inline constexpr int kMaxFdsPerMessage = 16;

struct ReceivedMessage {
  std::vector<uint8_t> payload;  // at most the budget
  std::vector<int> fds;          // received fds (close-on-exec), owned by whoever holds this
  bool fds_truncated = false;    // the peer attached more than kMaxFdsPerMessage
  bool peer_closed = false;      // end of stream seen right behind the message

  void CloseFds() {
    for (int fd : fds) sys::CloseQuietly(fd);
    fds.clear();
  }
};

// One non-blocking recvmsg into `buf`, appending any SCM_RIGHTS fds to
// `out->fds`. Returns the byte count, 0 at end of stream, or -errno.
inline ssize_t ReceiveChunk(int sock, uint8_t* buf, size_t len, ReceivedMessage* out) {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
  iovec iov{buf, len};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n = sys::RecvmsgRetryingEintr(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const unsigned char* data = CMSG_DATA(c);
    for (size_t i = 0; i < count; i++) {
      int received;
      memcpy(&received, data + i * sizeof(int), sizeof(int));
      out->fds.push_back(received);
    }
  }
  if (msg.msg_flags & MSG_CTRUNC) out->fds_truncated = true;
  return n;
}

// Reads a message of at most `budget` bytes: the first chunk, then whatever
// is already queued behind it (a stream socket may split one sendmsg; a
// sender that sends its message in one sendmsg has queued all of it before
// any of it can be read). Returns the byte count (> 0), 0 when the peer
// closed before sending anything, or -errno (-EAGAIN: nothing to read yet).
// On 0 or -errno, `out` holds no fds.
inline ssize_t ReceiveMessage(int sock, size_t budget, ReceivedMessage* out) {
  out->payload.resize(budget);
  ssize_t n = ReceiveChunk(sock, out->payload.data(), budget, out);
  if (n <= 0) {
    out->CloseFds();
    out->payload.clear();
    return n;
  }
  size_t total = static_cast<size_t>(n);
  while (total < budget) {
    ssize_t more = ReceiveChunk(sock, out->payload.data() + total, budget - total, out);
    if (more == 0) out->peer_closed = true;
    if (more <= 0) break;
    total += static_cast<size_t>(more);
  }
  out->payload.resize(total);
  return static_cast<ssize_t>(total);
}

}  // namespace faultline
