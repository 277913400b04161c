// A listening Unix stream socket at a path, created with its file mode set
// atomically, and removed on close only while the path is still ours. No
// N-API: failures come back as a ListenFailure the binding turns into an error.
#pragma once
#include <sys/types.h>

#include <string>

namespace faultline {

struct UnixListener {
  std::string path;
  int fd = -1;       // listening, non-blocking, close-on-exec
  bool bound = false;
  dev_t dev = 0;     // identity of the socket file we created
  ino_t ino = 0;
};

struct ListenFailure {
  const char* call = "";  // the failing syscall; empty when the mode check failed
  int err = 0;
  std::string hint;       // what to do about it (may be empty)
  mode_t created_mode = 0;  // mode check: what the file was created with
};

// socket + fchmod + bind + listen. Returns true, or false with `*failure`
// filled and nothing left open or on disk.
bool OpenUnixListener(const std::string& path, mode_t mode, int backlog, UnixListener* out, ListenFailure* failure);

// Closes the listening fd and removes the socket file if it is still the one
// we created (same inode): a newer server may have replaced it. Idempotent.
void CloseUnixListener(UnixListener* listener);

}  // namespace faultline
