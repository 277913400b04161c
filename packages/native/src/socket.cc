// Unix stream socket server for handshakes that carry file descriptors
// (SCM_RIGHTS), which Node's `net` cannot receive.
//
// Shape: one native thread per server runs poll(2) over the listening socket,
// a wake-up eventfd and every connection still in its handshake. A connection
// delivers exactly one message (the first recvmsg, plus whatever bytes are
// already queued behind it) to JS through a ThreadSafeFunction, together with
// the peer's SO_PEERCRED and the fds it attached. This is the control path (one
// event per client), so a TSFN is fine here; it is never used on the fault path.
//
// Nothing blocks the JS thread: the constructor only socket/bind/listens, and
// close() wakes the thread and joins it (the thread never blocks except in poll).
//
// After a delivered handshake the thread keeps watching the peer process
// (a pidfd) and reports its exit ("exited"): Firecracker closes its end of the
// socket right after the handshake, so the socket cannot tell when the VM is
// gone, and a uffd whose process exited only answers ESRCH to installs.
//
// Fd ownership: every fd the thread receives is either handed to JS inside a
// delivery (JS owns it from then on) or closed here (oversized message, peer
// rejected, server closing, environment tearing down). None leaks.
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "errors.h"
#include "init.h"
#include "sys/clock.h"
#include "sys/errno_name.h"
#include "sys/eventfd.h"
#include "sys/fd.h"

namespace faultline {

namespace {

// More fds than any handshake we know of (Firecracker sends 1, or 3 for
// guest_memfd VMs). Extra fds beyond this are discarded (closed) by the kernel
// and reported as `fdsTruncated`.
constexpr int kMaxFdsPerMessage = 16;
// Handshakes waiting for their message at once; further clients wait in the
// kernel's listen backlog until a slot frees.
constexpr size_t kMaxPendingConnections = 64;
// After EMFILE/ENFILE from accept4 the listening fd stays readable; pause
// accepting for this long instead of spinning.
constexpr int64_t kAcceptBackoffMs = 100;
// getsockopt(SO_PEERPIDFD) (Linux 6.5): a pidfd of the peer, free of pid reuse races.
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

using sys::CloseQuietly;
using sys::ErrnoName;

// One event for JS: a received handshake ("message") or a connection turned
// away ("rejected": code + message say why), or a server-level problem ("error").
struct Delivery {
  std::string kind;
  uint64_t connection = 0;
  int connectionFd = -1;  // "message" only: the connected socket, owned by JS once delivered
  bool hasCredentials = false;
  ucred credentials{};
  std::vector<uint8_t> payload;
  std::vector<int> fds;
  bool fdsTruncated = false;
  bool peerClosed = false;  // EOF already seen right behind the message
  bool watched = false;     // "message": an "exited" delivery will follow when the peer exits
  pid_t exitedPid = 0;      // "exited"
  std::string code;
  std::string message;

  // Used when JS will never see this delivery.
  void CloseFds() {
    CloseQuietly(connectionFd);
    connectionFd = -1;
    for (int fd : fds) CloseQuietly(fd);
    fds.clear();
  }
};

struct PendingConnection {
  int fd;
  uint64_t id;
  ucred credentials;
  int pidfd;  // -1 when neither SO_PEERPIDFD nor pidfd_open worked
  int64_t deadlineMs;
};

// A peer whose handshake was delivered: watched until it exits or JS unwatches it.
struct WatchedPeer {
  uint64_t id;
  pid_t pid;
  int pidfd;
};

// A pidfd for the peer of `sock`: SO_PEERPIDFD, else pidfd_open on the
// SO_PEERCRED pid (racy only if the peer died and its pid was reused already).
int PeerPidfd(int sock, pid_t pid) {
  int pidfd = -1;
  socklen_t len = sizeof(pidfd);
  if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0 && pidfd >= 0) return pidfd;
  long r = syscall(SYS_pidfd_open, pid, 0);
  return r >= 0 ? static_cast<int>(r) : -1;
}

class UnixServer;
void DeliverToJs(Napi::Env env, Napi::Function callback, UnixServer* server, Delivery* delivery);
using DeliveryFn = Napi::TypedThreadSafeFunction<UnixServer, Delivery, DeliverToJs>;

struct ServerOptions {
  int backlog = 64;
  mode_t mode = 0600;
  size_t maxMessageBytes = 64 * 1024;
  int64_t handshakeTimeoutMs = 5000;
  std::vector<uid_t> allowUids;  // empty: any peer
};

class UnixServer : public Napi::ObjectWrap<UnixServer> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "UnixServer",
                       {
                           InstanceMethod<&UnixServer::Close>("close"),
                           InstanceMethod<&UnixServer::RefLoop>("ref"),
                           InstanceMethod<&UnixServer::UnrefLoop>("unref"),
                           InstanceMethod<&UnixServer::Unwatch>("unwatch"),
                           InstanceAccessor<&UnixServer::Path>("path"),
                       });
  }

  UnixServer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UnixServer>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsString() || !info[1].IsObject() || !info[2].IsFunction()) {
      throw Napi::TypeError::New(env, "new UnixServer(path: string, options: object, onEvent: function)");
    }
    path_ = info[0].As<Napi::String>().Utf8Value();
    options_ = ReadOptions(env, info[1].As<Napi::Object>());
    Listen(env);

    wakeFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wakeFd_ < 0) {
      int err = errno;
      CloseListener();
      throw ErrnoError(env, "eventfd", err);
    }
    try {
      // Unbounded queue: the thread never blocks on a busy JS thread.
      deliver_ = DeliveryFn::New(env, info[2].As<Napi::Function>(), "faultline:UnixServer", 0, 1, this);
    } catch (...) {
      CloseQuietly(wakeFd_);
      wakeFd_ = -1;
      CloseListener();
      throw;
    }
    // The thread uses `this`: keep the JS object alive until close().
    Napi::ObjectWrap<UnixServer>::Ref();
    cleanup_ = env.AddCleanupHook(std::function<void()>([this]() { Stop(); }));
    thread_ = std::thread([this]() { Run(); });
  }

  ~UnixServer() override { Stop(); }

 private:
  static ServerOptions ReadOptions(Napi::Env env, Napi::Object o) {
    ServerOptions opts;
    auto number = [&](const char* name, double min, double max, double fallback) {
      Napi::Value v = o.Get(name);
      if (v.IsUndefined()) return fallback;
      if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("options.") + name + " must be a number");
      double d = v.As<Napi::Number>().DoubleValue();
      if (!(d >= min && d <= max) || d != static_cast<double>(static_cast<int64_t>(d))) {
        throw Napi::TypeError::New(env, std::string("options.") + name + " must be an integer in [" +
                                            std::to_string(static_cast<int64_t>(min)) + ", " +
                                            std::to_string(static_cast<int64_t>(max)) + "]");
      }
      return d;
    };
    opts.backlog = static_cast<int>(number("backlog", 1, 4096, opts.backlog));
    opts.mode = static_cast<mode_t>(number("mode", 0, 0777, opts.mode));
    opts.maxMessageBytes = static_cast<size_t>(number("maxMessageBytes", 1, 16 << 20, opts.maxMessageBytes));
    opts.handshakeTimeoutMs = static_cast<int64_t>(number("handshakeTimeoutMs", 1, 24 * 3600 * 1000, opts.handshakeTimeoutMs));
    Napi::Value uids = o.Get("allowUids");
    if (!uids.IsUndefined()) {
      if (!uids.IsArray()) throw Napi::TypeError::New(env, "options.allowUids must be an array of uids");
      Napi::Array a = uids.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); i++) {
        Napi::Value v = a.Get(i);
        double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
        if (!(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint64_t>(d))) {
          throw Napi::TypeError::New(env, "options.allowUids must hold non-negative integer uids");
        }
        opts.allowUids.push_back(static_cast<uid_t>(d));
      }
    }
    return opts;
  }

  // socket + bind + listen. The socket file gets `mode` atomically: on Linux,
  // bind(2) creates the file with the socket inode's mode (masked by the umask),
  // so fchmod on the unbound socket sets it before the path exists. umask(2)
  // would race with every other thread of the process.
  void Listen(Napi::Env env) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.empty() || path_.size() >= sizeof(addr.sun_path)) {
      throw ErrnoError(env, "bind", ENAMETOOLONG,
                       "a Unix socket path must be 1.." + std::to_string(sizeof(addr.sun_path) - 1) +
                           " bytes; choose a shorter path: " + path_);
    }
    memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    listenFd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listenFd_ < 0) throw ErrnoError(env, "socket", errno);
    if (fchmod(listenFd_, options_.mode) != 0) {
      int err = errno;
      CloseListener();
      throw ErrnoError(env, "fchmod", err);
    }
    if (bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      int err = errno;
      CloseListener();
      std::string hint = err == EADDRINUSE ? "something already exists at " + path_ +
                                                 "; remove it if no server is using it"
                                           : "cannot create the socket file " + path_;
      throw ErrnoError(env, "bind", err, hint);
    }
    struct stat st{};
    if (stat(path_.c_str(), &st) != 0) {
      int err = errno;
      CloseListener();
      throw ErrnoError(env, "stat", err, "the socket file vanished right after bind: " + path_);
    }
    socketDev_ = st.st_dev;
    socketIno_ = st.st_ino;
    bound_ = true;
    if ((st.st_mode & 0777 & ~options_.mode) != 0) {
      // Never more permissive than asked: refuse rather than serve an open socket.
      CloseListener();
      throw CodedError(env, "ERR_FAULTLINE_SOCKET_MODE",
                       "the socket file " + path_ + " was created with mode " + std::to_string(st.st_mode & 0777) +
                           " (octal " + OctalMode(st.st_mode) + "), more permissive than requested");
    }
    if (listen(listenFd_, options_.backlog) != 0) {
      int err = errno;
      CloseListener();
      throw ErrnoError(env, "listen", err);
    }
  }

  static std::string OctalMode(mode_t m) {
    char buf[8];
    snprintf(buf, sizeof(buf), "%03o", static_cast<unsigned>(m & 0777));
    return buf;
  }

  // Closes the listening fd and removes the socket file if it is still ours
  // (same inode): a newer server may have replaced it.
  void CloseListener() {
    if (bound_) {
      struct stat st{};
      if (stat(path_.c_str(), &st) == 0 && st.st_dev == socketDev_ && st.st_ino == socketIno_) unlink(path_.c_str());
      bound_ = false;
    }
    CloseQuietly(listenFd_);
    listenFd_ = -1;
  }

  // Stops and joins the thread, closes every fd it still holds, removes the
  // socket file and lets the TSFN go (queued deliveries still reach JS, which
  // owns their fds). Idempotent; runs from close(), the cleanup hook or the destructor.
  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    if (thread_.joinable()) {
      stopping_.store(true);
      Wake();
      thread_.join();
    }
    for (PendingConnection& p : pending_) {
      CloseQuietly(p.fd);
      CloseQuietly(p.pidfd);
    }
    pending_.clear();
    for (WatchedPeer& w : watched_) CloseQuietly(w.pidfd);
    watched_.clear();
    CloseListener();
    CloseQuietly(wakeFd_);
    wakeFd_ = -1;
    if (deliver_) {
      deliver_.Release();
      deliver_ = DeliveryFn();
    }
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    bool wasOpen = !stopped_;
    Stop();
    if (wasOpen) {
      cleanup_.Remove(info.Env());
      Napi::ObjectWrap<UnixServer>::Unref();
    }
    return info.Env().Undefined();
  }

  // ref()/unref(): whether an open server keeps the event loop alive (like net.Server).
  Napi::Value RefLoop(const Napi::CallbackInfo& info) {
    if (!stopped_) deliver_.Ref(info.Env());
    return info.This();
  }

  Napi::Value UnrefLoop(const Napi::CallbackInfo& info) {
    if (!stopped_) deliver_.Unref(info.Env());
    return info.This();
  }

  Napi::Value Path(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), path_); }

  // unwatch(connection): JS no longer cares when that peer exits.
  Napi::Value Unwatch(const Napi::CallbackInfo& info) {
    uint64_t id = ArgU64(info, 0, "connection");
    if (stopped_) return info.Env().Undefined();
    {
      std::lock_guard<std::mutex> lock(unwatchMutex_);
      unwatchRequests_.push_back(id);
    }
    Wake();
    return info.Env().Undefined();
  }

  void Wake() { sys::EventfdSignal(wakeFd_); }

  // ------------------------------------------------------------ server thread

  void Send(Delivery* d) {
    if (deliver_.NonBlockingCall(d) != napi_ok) {
      d->CloseFds();
      delete d;
    }
  }

  void Reject(int fd, int pidfd, uint64_t id, const ucred* cred, const char* code, std::string message) {
    CloseQuietly(fd);
    CloseQuietly(pidfd);
    auto* d = new Delivery();
    d->kind = "rejected";
    d->connection = id;
    if (cred != nullptr) {
      d->hasCredentials = true;
      d->credentials = *cred;
    }
    d->code = code;
    d->message = std::move(message);
    Send(d);
  }

  void ReportError(const char* code, std::string message) {
    auto* d = new Delivery();
    d->kind = "error";
    d->code = code;
    d->message = std::move(message);
    Send(d);
  }

  bool UidAllowed(uid_t uid) const {
    return options_.allowUids.empty() ||
           std::find(options_.allowUids.begin(), options_.allowUids.end(), uid) != options_.allowUids.end();
  }

  // Accepts every queued connection (the listening fd is non-blocking).
  void AcceptAll(int64_t now) {
    while (pending_.size() < kMaxPendingConnections) {
      int fd = accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) {
        int err = errno;
        if (err == EAGAIN || err == EINTR) return;
        if (err == ECONNABORTED || err == EPROTO) continue;  // that client gave up; next
        // EMFILE/ENFILE/ENOBUFS/ENOMEM: the connection stays queued; retry later.
        acceptPausedUntilMs_ = now + kAcceptBackoffMs;
        ReportError(ErrnoName(err),
                    std::string("accept4 failed on ") + path_ + ": " + strerror(err) +
                        (err == EMFILE ? " (raise the open-files limit: ulimit -n)" : ""));
        return;
      }
      uint64_t id = ++nextConnectionId_;
      ucred cred{};
      socklen_t len = sizeof(cred);
      if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        int err = errno;
        Reject(fd, -1, id, nullptr, "ERR_FAULTLINE_SOCKET_PEER_UNKNOWN",
               std::string("could not read the peer's credentials (SO_PEERCRED): ") + strerror(err));
        continue;
      }
      if (!UidAllowed(cred.uid)) {
        // Turned away before reading anything, so it cannot hand us fds.
        Reject(fd, -1, id, &cred, "ERR_FAULTLINE_SOCKET_PEER_REJECTED",
               "peer uid " + std::to_string(cred.uid) + " (pid " + std::to_string(cred.pid) +
                   ") is not in the allowed uids; add it with allowUids / --allow-uid");
        continue;
      }
      pending_.push_back({fd, id, cred, PeerPidfd(fd, cred.pid), now + options_.handshakeTimeoutMs});
    }
  }

  // One recvmsg into `buf`, appending any SCM_RIGHTS fds to `fds`. Returns the
  // byte count, 0 at EOF, or -errno.
  static ssize_t ReceiveChunk(int fd, uint8_t* buf, size_t len, std::vector<int>& fds, bool& truncated) {
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
    iovec iov{buf, len};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = sys::RecvmsgRetryingEintr(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) return n;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      const unsigned char* data = CMSG_DATA(c);
      for (size_t i = 0; i < count; i++) {
        int received;
        memcpy(&received, data + i * sizeof(int), sizeof(int));
        fds.push_back(received);
      }
    }
    // The kernel closes the fds that did not fit; we only say so.
    if (msg.msg_flags & MSG_CTRUNC) truncated = true;
    return n;
  }

  // Reads the handshake of a readable connection. Returns false when the
  // connection must stay pending (spurious wake-up).
  bool ReadHandshake(const PendingConnection& p) {
    auto* d = new Delivery();
    d->connection = p.id;
    d->hasCredentials = true;
    d->credentials = p.credentials;
    // One byte more than allowed, so an oversized message is detectable.
    d->payload.resize(options_.maxMessageBytes + 1);
    ssize_t n = ReceiveChunk(p.fd, d->payload.data(), d->payload.size(), d->fds, d->fdsTruncated);
    if (n == -EAGAIN) {
      delete d;
      return false;
    }
    if (n <= 0) {
      d->CloseFds();
      delete d;
      if (n == 0) {
        Reject(p.fd, p.pidfd, p.id, &p.credentials, "ERR_FAULTLINE_SOCKET_DISCONNECTED",
               "the peer closed the connection before sending its handshake");
      } else {
        Reject(p.fd, p.pidfd, p.id, &p.credentials, ErrnoName(static_cast<int>(-n)),
               std::string("reading the handshake failed: ") + strerror(static_cast<int>(-n)));
      }
      return true;
    }
    // A stream socket may split one sendmsg into several chunks; take what is
    // already queued behind the first one (a sender that sends the handshake in
    // one sendmsg has queued all of it before we see any of it complete).
    size_t total = static_cast<size_t>(n);
    while (total < d->payload.size()) {
      ssize_t more = ReceiveChunk(p.fd, d->payload.data() + total, d->payload.size() - total, d->fds, d->fdsTruncated);
      if (more == 0) d->peerClosed = true;
      if (more <= 0) break;
      total += static_cast<size_t>(more);
    }
    if (total > options_.maxMessageBytes) {
      d->CloseFds();
      delete d;
      Reject(p.fd, p.pidfd, p.id, &p.credentials, "ERR_FAULTLINE_SOCKET_TOO_LARGE",
             "the handshake message is larger than " + std::to_string(options_.maxMessageBytes) + " bytes");
      return true;
    }
    d->payload.resize(total);
    d->kind = "message";
    d->connectionFd = p.fd;
    d->watched = p.pidfd >= 0;
    Send(d);
    if (p.pidfd >= 0) watched_.push_back({p.id, p.credentials.pid, p.pidfd});
    return true;
  }

  void ApplyUnwatchRequests() {
    std::vector<uint64_t> ids;
    {
      std::lock_guard<std::mutex> lock(unwatchMutex_);
      ids.swap(unwatchRequests_);
    }
    for (uint64_t id : ids) {
      for (auto it = watched_.begin(); it != watched_.end(); ++it) {
        if (it->id == id) {
          CloseQuietly(it->pidfd);
          watched_.erase(it);
          break;
        }
      }
    }
  }

  void Run() {
    std::vector<pollfd> pfds;
    while (true) {
      int64_t now = sys::MonotonicMs();
      // Handshakes past their deadline.
      for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->deadlineMs <= now) {
          Reject(it->fd, it->pidfd, it->id, &it->credentials, "ERR_FAULTLINE_SOCKET_TIMEOUT",
                 "no handshake within " + std::to_string(options_.handshakeTimeoutMs) + " ms");
          it = pending_.erase(it);
        } else {
          ++it;
        }
      }
      pfds.clear();
      pfds.push_back({wakeFd_, POLLIN, 0});
      bool acceptNow = pending_.size() < kMaxPendingConnections && now >= acceptPausedUntilMs_;
      pfds.push_back({acceptNow ? listenFd_ : -1, POLLIN, 0});  // fd -1: ignored by poll
      int64_t wait = -1;
      for (const PendingConnection& p : pending_) {
        pfds.push_back({p.fd, POLLIN, 0});
        int64_t left = p.deadlineMs - now;
        if (wait < 0 || left < wait) wait = left;
      }
      for (const WatchedPeer& w : watched_) pfds.push_back({w.pidfd, POLLIN, 0});
      if (!acceptNow && pending_.size() < kMaxPendingConnections) {
        int64_t left = acceptPausedUntilMs_ - now;
        if (wait < 0 || left < wait) wait = left;
      }
      int timeout = wait < 0 ? -1 : static_cast<int>(std::min<int64_t>(wait, INT_MAX));
      int ready = poll(pfds.data(), pfds.size(), timeout);
      if (ready < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ReportError(ErrnoName(err), std::string("poll failed: ") + strerror(err) + "; the server stopped accepting");
        return;
      }
      if (pfds[0].revents != 0) {
        sys::EventfdTake(wakeFd_);
        if (stopping_.load()) return;  // close(): Stop() cleans up
        ApplyUnwatchRequests();
        continue;  // the index layout of pfds may have changed
      }
      now = sys::MonotonicMs();
      // Watched peers that exited (a pidfd polls readable when its process exits).
      size_t watchBase = 2 + pending_.size();
      std::vector<WatchedPeer> alive;
      alive.reserve(watched_.size());
      for (size_t i = 0; i < watched_.size(); i++) {
        if (pfds[watchBase + i].revents == 0) {
          alive.push_back(watched_[i]);
          continue;
        }
        CloseQuietly(watched_[i].pidfd);
        auto* d = new Delivery();
        d->kind = "exited";
        d->connection = watched_[i].id;
        d->exitedPid = watched_[i].pid;
        Send(d);
      }
      watched_.swap(alive);
      // Connections first (their indexes match pending_ before AcceptAll appends).
      std::vector<PendingConnection> still;
      still.reserve(pending_.size());
      for (size_t i = 0; i < pending_.size(); i++) {
        short rev = pfds[i + 2].revents;
        if (rev == 0 || !ReadHandshake(pending_[i])) still.push_back(pending_[i]);
      }
      pending_.swap(still);
      if (pfds[1].revents != 0) AcceptAll(now);
    }
  }

  std::string path_;
  ServerOptions options_;
  int listenFd_ = -1;
  int wakeFd_ = -1;
  bool bound_ = false;
  dev_t socketDev_ = 0;
  ino_t socketIno_ = 0;
  bool stopped_ = false;
  uint64_t nextConnectionId_ = 0;
  int64_t acceptPausedUntilMs_ = 0;
  std::vector<PendingConnection> pending_;  // touched by the thread only (and by Stop() after the join)
  std::vector<WatchedPeer> watched_;        // likewise
  std::atomic<bool> stopping_{false};
  std::mutex unwatchMutex_;
  std::vector<uint64_t> unwatchRequests_;  // from JS, applied by the thread
  DeliveryFn deliver_;
  Napi::Env::CleanupHook<std::function<void()>> cleanup_;
  std::thread thread_;
};

// Runs on the JS thread. `env` is null when the TSFN is being torn down with
// this delivery still queued: nobody will own the fds, so close them.
void DeliverToJs(Napi::Env env, Napi::Function callback, UnixServer* server, Delivery* d) {
  if (env == nullptr || callback.IsEmpty()) {
    d->CloseFds();
    delete d;
    return;
  }
  Napi::Object event = Napi::Object::New(env);
  event.Set("kind", d->kind);
  event.Set("connection", Napi::Number::New(env, static_cast<double>(d->connection)));
  if (d->hasCredentials) {
    event.Set("pid", Napi::Number::New(env, d->credentials.pid));
    event.Set("uid", Napi::Number::New(env, d->credentials.uid));
    event.Set("gid", Napi::Number::New(env, d->credentials.gid));
  }
  if (d->kind == "message") {
    event.Set("fd", Napi::Number::New(env, d->connectionFd));
    event.Set("payload", Napi::Buffer<uint8_t>::Copy(env, d->payload.data(), d->payload.size()));
    Napi::Array fds = Napi::Array::New(env, d->fds.size());
    for (size_t i = 0; i < d->fds.size(); i++) fds.Set(static_cast<uint32_t>(i), Napi::Number::New(env, d->fds[i]));
    event.Set("fds", fds);
    event.Set("fdsTruncated", Napi::Boolean::New(env, d->fdsTruncated));
    event.Set("peerClosed", Napi::Boolean::New(env, d->peerClosed));
    event.Set("watched", Napi::Boolean::New(env, d->watched));
  } else if (d->kind == "exited") {
    event.Set("pid", Napi::Number::New(env, d->exitedPid));
  } else {
    event.Set("code", d->code);
    event.Set("message", d->message);
  }
  // From here JS owns the fds.
  delete d;
  try {
    callback.Call({event});
  } catch (const Napi::Error& e) {
    // Like an exception in any event callback: report it as uncaught.
    napi_fatal_exception(env, e.Value());
  }
}

}  // namespace

void InitSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("UnixServer", UnixServer::Define(env));
}

}  // namespace faultline
