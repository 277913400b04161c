#include "unix_listener.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "../sys/fd.h"

namespace faultline {

namespace {

bool Fail(UnixListener* l, ListenFailure* failure, const char* call, int err, std::string hint = "") {
  CloseUnixListener(l);
  failure->call = call;
  failure->err = err;
  failure->hint = std::move(hint);
  return false;
}

}  // namespace

// The socket file gets `mode` atomically: on Linux, bind(2) creates the file
// with the socket inode's mode (masked by the umask), so fchmod on the unbound
// socket sets it before the path exists. umask(2) would race with every other
// thread of the process.
bool OpenUnixListener(const std::string& path, mode_t mode, int backlog, UnixListener* l, ListenFailure* failure) {
  l->path = path;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return Fail(l, failure, "bind", ENAMETOOLONG,
                "a Unix socket path must be 1.." + std::to_string(sizeof(addr.sun_path) - 1) +
                    " bytes; choose a shorter path: " + path);
  }
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (l->fd < 0) return Fail(l, failure, "socket", errno);
  if (fchmod(l->fd, mode) != 0) return Fail(l, failure, "fchmod", errno);
  if (bind(l->fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    return Fail(l, failure, "bind", err,
                err == EADDRINUSE ? "something already exists at " + path + "; remove it if no server is using it"
                                  : "cannot create the socket file " + path);
  }
  struct stat st{};
  if (stat(path.c_str(), &st) != 0) {
    return Fail(l, failure, "stat", errno, "the socket file vanished right after bind: " + path);
  }
  l->dev = st.st_dev;
  l->ino = st.st_ino;
  l->bound = true;
  if ((st.st_mode & 0777 & ~mode) != 0) {
    // Never more permissive than asked: refuse rather than serve an open socket.
    failure->created_mode = st.st_mode & 0777;
    return Fail(l, failure, "", 0);
  }
  if (listen(l->fd, backlog) != 0) return Fail(l, failure, "listen", errno);
  return true;
}

void CloseUnixListener(UnixListener* l) {
  if (l->bound) {
    struct stat st{};
    if (stat(l->path.c_str(), &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino) unlink(l->path.c_str());
    l->bound = false;
  }
  sys::CloseQuietly(l->fd);
  l->fd = -1;
}

}  // namespace faultline
