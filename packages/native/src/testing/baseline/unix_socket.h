/*
 * The Unix socket side of the adopt bench (adopt_child.c, adopt_handler.c):
 * a handshake message carrying one fd (SCM_RIGHTS), then short text lines
 * ("go", "done") on the same connection. Failures end the program (exit 1)
 * naming the call, since a half-done handshake leaves nothing to measure.
 */
#ifndef FAULTLINE_UNIX_SOCKET_H
#define FAULTLINE_UNIX_SOCKET_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "args_core.h"

static inline void unix_address(struct sockaddr_un* addr, const char* path) {
  memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof(addr->sun_path)) usage_error("--socket path is too long for a Unix socket (max 107 bytes), got", path);
  strcpy(addr->sun_path, path);
}

/* A listening socket at `path` (which must not exist yet). */
static inline int unix_listen(const char* path) {
  struct sockaddr_un addr;
  unix_address(&addr, path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket(AF_UNIX) failed: %s", strerror(errno));
  if (bind(s, (struct sockaddr*)&addr, sizeof(addr)) != 0) die("cannot bind the --socket path: %s", strerror(errno));
  if (listen(s, 4) != 0) die("listen failed: %s", strerror(errno));
  return s;
}

/* Connects to `path`, retrying while the listener is not there yet (it may
   be a process started at the same time), for up to `wait_ms`. */
static inline int unix_connect(const char* path, unsigned wait_ms) {
  struct sockaddr_un addr;
  unix_address(&addr, path);
  for (unsigned waited = 0;; waited++) {
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) die("socket(AF_UNIX) failed: %s", strerror(errno));
    if (connect(s, (struct sockaddr*)&addr, sizeof(addr)) == 0) return s;
    int err = errno;
    close(s);
    if ((err != ENOENT && err != ECONNREFUSED) || waited >= wait_ms) {
      die("cannot connect to the --socket path (is the handler listening there?): %s", strerror(err));
    }
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
}

/* Room for the SCM_RIGHTS of up to 4 fds (a peer may attach more than its uffd). */
union fd_control {
  char buf[CMSG_SPACE(sizeof(int) * 4)];
  struct cmsghdr align;
};

/* A one-buffer message with `control` attached (zeroed). */
static inline struct msghdr fd_message(struct iovec* iov, union fd_control* control) {
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  memset(control, 0, sizeof(*control));
  msg.msg_iov = iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control->buf;
  msg.msg_controllen = sizeof(control->buf);
  return msg;
}

/* Sends `len` bytes and `fd` as SCM_RIGHTS in ONE sendmsg (the receiver reads one message). */
static inline void send_with_fd(int s, const void* buf, size_t len, int fd) {
  struct iovec iov = {(void*)buf, len};
  union fd_control control;
  struct msghdr msg = fd_message(&iov, &control);
  msg.msg_controllen = CMSG_SPACE(sizeof(int));
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  ssize_t n = sendmsg(s, &msg, MSG_NOSIGNAL);
  if (n < 0) die("sendmsg of the handshake failed: %s", strerror(errno));
  if ((size_t)n != len) die("%s", "sendmsg sent part of the handshake: make it shorter");
}

/* Receives one message (NUL-terminated into buf) and the first fd attached to it; exits when none came. */
static inline int recv_with_fd(int s, char* buf, size_t cap) {
  struct iovec iov = {buf, cap - 1};
  union fd_control control;
  struct msghdr msg = fd_message(&iov, &control);
  ssize_t n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
  if (n < 0) die("recvmsg of the handshake failed: %s", strerror(errno));
  buf[n] = '\0';
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) die("%s", "the handshake was cut off (too long, or more than 4 fds)");
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int fd;
      memcpy(&fd, CMSG_DATA(c), sizeof(int));
      return fd;
    }
  }
  die("%s", "the handshake came without an fd: the peer must attach its uffd (SCM_RIGHTS)");
  return -1;
}

/* Reads one line (without its '\n') into buf; returns its length, or -1 at end of file. */
static inline ssize_t read_line(int fd, char* buf, size_t cap) {
  size_t n = 0;
  for (;;) {
    char c;
    ssize_t r = read(fd, &c, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("reading a line failed: %s", strerror(errno));
    if (r == 0) return n == 0 ? -1 : (ssize_t)n;
    if (c == '\n') break;
    if (n + 1 < cap) buf[n++] = c;
  }
  buf[n] = '\0';
  return (ssize_t)n;
}

/* Writes a short line; a peer that already closed is not an error (it has what it needed). */
static inline void send_line(int s, const char* line) {
  if (send(s, line, strlen(line), MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET) {
    die("sending a line on the socket failed: %s", strerror(errno));
  }
}

#endif /* FAULTLINE_UNIX_SOCKET_H */
