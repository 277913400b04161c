// Who is on the other end of a connected Unix socket: its credentials at
// connect time, and a pidfd that polls readable when that process exits. No
// N-API.
#pragma once
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

// getsockopt(SO_PEERPIDFD) (Linux 6.5): a pidfd of the peer, free of pid reuse races.
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

namespace faultline {

// SO_PEERCRED. Returns 0 or -errno.
inline int PeerCredentials(int sock, ucred* out) {
  socklen_t len = sizeof(*out);
  return getsockopt(sock, SOL_SOCKET, SO_PEERCRED, out, &len) == 0 ? 0 : -errno;
}

// A pidfd for the peer of `sock`: SO_PEERPIDFD, else pidfd_open on the
// SO_PEERCRED pid (racy only if the peer died and its pid was reused already).
// -1 when neither works (the peer's exit then cannot be watched).
inline int PeerPidfd(int sock, pid_t pid) {
  int pidfd = -1;
  socklen_t len = sizeof(pidfd);
  if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0 && pidfd >= 0) return pidfd;
  long r = syscall(SYS_pidfd_open, pid, 0);
  return r >= 0 ? static_cast<int>(r) : -1;
}

}  // namespace faultline
