// UnixServer: a Unix stream socket server for handshakes that carry file
// descriptors (SCM_RIGHTS), which Node's `net` cannot receive. Mechanism only:
// accept, read the peer's credentials, read one message with its fds when JS
// asks and within the byte budget JS gives, watch the peer process's exit, and
// drop a connection when JS says so. Who may connect, how long a handshake may
// take and how large it may be are decided in JS (packages/core/src/ipc/
// unix-server.ts), from the events this delivers.
//
// Shape: one native thread per server runs poll(2) over the listening socket,
// a wake-up eventfd, every connection JS asked to read, and the pidfd of every
// peer whose message was delivered. Events reach JS through a
// ThreadSafeFunction: this is the control path (a few events per client), so
// a TSFN is fine here; it is never used on the fault path.
//
// A connection's life: accepted -> "connection" event (credentials; nothing
// read) -> JS calls receive(connection, maxBytes) or drop(connection) ->
// "message" (the payload, the fds, and the connected socket, all owned by JS
// from then on) or "ended" (the peer closed or the read failed; closed here)
// -> the peer's pidfd is watched -> "exited" when the process is gone, unless
// JS dropped it first.
//
// Nothing blocks the JS thread: the constructor only socket/bind/listens, and
// close() wakes the thread and joins it (the thread never blocks except in poll).
//
// Fd ownership: every fd the thread receives or accepts is either handed to JS
// inside a delivery (JS owns it from then on) or closed here (dropped, ended,
// server closing, environment tearing down). None leaks.
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../errors.h"
#include "../init.h"
#include "../sys/clock.h"
#include "../sys/errno_name.h"
#include "../sys/eventfd.h"
#include "../sys/fd.h"
#include "peer.h"
#include "receive.h"
#include "unix_listener.h"

namespace faultline {

namespace {

using sys::CloseQuietly;
using sys::ErrnoName;

// Connections accepted and not yet delivered or ended, at once; further
// clients wait in the kernel's listen backlog until one is settled.
constexpr size_t kMaxUnsettledConnections = 64;
// After EMFILE/ENFILE from accept4 the listening fd stays readable; pause
// accepting for this long instead of spinning.
constexpr int64_t kAcceptBackoffMs = 100;
// The largest byte budget receive() takes.
constexpr double kMaxReceiveBytes = 64 << 20;

// One event for JS.
struct Delivery {
  enum Kind { kConnection, kMessage, kEnded, kExited, kError } kind;
  uint64_t connection = 0;
  bool hasCredentials = false;
  ucred credentials{};
  int connectionFd = -1;  // kMessage: the connected socket, owned by JS once delivered
  ReceivedMessage message;
  bool watched = false;  // kMessage: an "exited" delivery follows when the peer exits
  int err = 0;           // kConnection: SO_PEERCRED failed; kEnded: the read failed (0: end of stream)
  std::string code;      // kError
  std::string text;      // kError

  // Used when JS will never see this delivery.
  void CloseFds() {
    CloseQuietly(connectionFd);
    connectionFd = -1;
    message.CloseFds();
  }
};

struct Connection {
  enum State { kAwaitingDecision, kReceiving, kWatched } state = kAwaitingDecision;
  uint64_t id = 0;
  int fd = -1;     // the socket; JS's once the message is delivered (kWatched)
  int pidfd = -1;  // -1 when neither SO_PEERPIDFD nor pidfd_open worked
  bool hasCredentials = false;
  ucred credentials{};
  size_t budget = 0;  // kReceiving: bytes JS lets us read

  // Closes what the server still owns of this connection.
  void CloseOwned() {
    if (state != kWatched) CloseQuietly(fd);
    CloseQuietly(pidfd);
  }
};

// A request from JS, applied by the server thread.
struct Request {
  enum Kind { kReceive, kDrop } kind;
  uint64_t connection;
  size_t budget;
};

class UnixServer;
void DeliverToJs(Napi::Env env, Napi::Function callback, UnixServer* server, Delivery* delivery);
using DeliveryFn = Napi::TypedThreadSafeFunction<UnixServer, Delivery, DeliverToJs>;

struct ServerOptions {
  int backlog = 64;
  mode_t mode = 0600;
};

class UnixServer : public Napi::ObjectWrap<UnixServer> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "UnixServer",
                       {
                           InstanceMethod<&UnixServer::Close>("close"),
                           InstanceMethod<&UnixServer::Receive>("receive"),
                           InstanceMethod<&UnixServer::Drop>("drop"),
                           InstanceMethod<&UnixServer::RefLoop>("ref"),
                           InstanceMethod<&UnixServer::UnrefLoop>("unref"),
                           InstanceAccessor<&UnixServer::Path>("path"),
                       });
  }

  UnixServer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UnixServer>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsString() || !info[1].IsObject() || !info[2].IsFunction()) {
      throw Napi::TypeError::New(env, "new UnixServer(path: string, options: object, onEvent: function)");
    }
    ServerOptions options = ReadOptions(env, info[1].As<Napi::Object>());
    ListenFailure failure;
    if (!OpenUnixListener(info[0].As<Napi::String>().Utf8Value(), options.mode, options.backlog, &listener_, &failure)) {
      if (failure.err != 0) throw ErrnoError(env, failure.call, failure.err, failure.hint);
      throw CodedError(env, "ERR_FAULTLINE_SOCKET_MODE",
                       "the socket file " + listener_.path + " was created with mode " +
                           std::to_string(failure.created_mode) + " (octal " + OctalMode(failure.created_mode) +
                           "), more permissive than requested");
    }
    wakeFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wakeFd_ < 0) {
      int err = errno;
      CloseUnixListener(&listener_);
      throw ErrnoError(env, "eventfd", err);
    }
    try {
      // Unbounded queue: the thread never blocks on a busy JS thread.
      deliver_ = DeliveryFn::New(env, info[2].As<Napi::Function>(), "faultline:UnixServer", 0, 1, this);
    } catch (...) {
      CloseQuietly(wakeFd_);
      wakeFd_ = -1;
      CloseUnixListener(&listener_);
      throw;
    }
    // The thread uses `this`: keep the JS object alive until close().
    Napi::ObjectWrap<UnixServer>::Ref();
    cleanup_ = env.AddCleanupHook(std::function<void()>([this]() { Stop(); }));
    thread_ = std::thread([this]() { Run(); });
  }

  ~UnixServer() override { Stop(); }

 private:
  // Only mechanism options; peer policy given here would be silently unenforced.
  static ServerOptions ReadOptions(Napi::Env env, Napi::Object o) {
    for (const char* policy : {"allowUids", "handshakeTimeoutMs", "maxMessageBytes"}) {
      if (!o.Get(policy).IsUndefined()) {
        throw Napi::TypeError::New(env, std::string("options.") + policy +
                                            " is peer policy, which this native server does not apply: use "
                                            "@faultline/core's UnixServer (packages/core/src/ipc/unix-server.ts)");
      }
    }
    ServerOptions opts;
    auto integer = [&](const char* name, double min, double max, double fallback) {
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
    opts.backlog = static_cast<int>(integer("backlog", 1, 4096, opts.backlog));
    opts.mode = static_cast<mode_t>(integer("mode", 0, 0777, opts.mode));
    return opts;
  }

  static std::string OctalMode(mode_t m) {
    char buf[8];
    snprintf(buf, sizeof(buf), "%03o", static_cast<unsigned>(m & 0777));
    return buf;
  }

  // Stops and joins the thread, closes every fd it still holds, removes the
  // socket file and lets the TSFN go (queued deliveries still reach JS, which
  // owns their fds). Idempotent; runs from close(), the cleanup hook or the destructor.
  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    if (thread_.joinable()) {
      stopping_.store(true);
      sys::EventfdSignal(wakeFd_);
      thread_.join();
    }
    for (Connection& c : connections_) c.CloseOwned();
    connections_.clear();
    CloseUnixListener(&listener_);
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

  // receive(connection, maxBytes): read that connection's message, at most
  // maxBytes bytes of it (more stays unread in the socket).
  Napi::Value Receive(const Napi::CallbackInfo& info) {
    uint64_t id = ArgU64(info, 0, "connection");
    uint64_t budget = ArgU64(info, 1, "maxBytes");
    if (budget < 1 || budget > kMaxReceiveBytes) {
      throw Napi::RangeError::New(info.Env(), "maxBytes must be 1.." + std::to_string(static_cast<int64_t>(kMaxReceiveBytes)));
    }
    Post({Request::kReceive, id, static_cast<size_t>(budget)});
    return info.Env().Undefined();
  }

  // drop(connection): close what the server still holds of it (its socket
  // while no message was delivered, its pidfd); no further event for it.
  Napi::Value Drop(const Napi::CallbackInfo& info) {
    Post({Request::kDrop, ArgU64(info, 0, "connection"), 0});
    return info.Env().Undefined();
  }

  void Post(Request request) {
    if (stopped_) return;
    {
      std::lock_guard<std::mutex> lock(requestsMutex_);
      requests_.push_back(request);
    }
    sys::EventfdSignal(wakeFd_);
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

  Napi::Value Path(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), listener_.path); }

  // ------------------------------------------------------------ server thread

  void Send(Delivery* d) {
    if (deliver_.NonBlockingCall(d) != napi_ok) {
      d->CloseFds();
      delete d;
    }
  }

  Delivery* NewDelivery(Delivery::Kind kind, const Connection& c) {
    auto* d = new Delivery();
    d->kind = kind;
    d->connection = c.id;
    d->hasCredentials = c.hasCredentials;
    d->credentials = c.credentials;
    return d;
  }

  void ReportError(int err, std::string text) {
    auto* d = new Delivery();
    d->kind = Delivery::kError;
    d->code = ErrnoName(err);
    d->text = std::move(text);
    Send(d);
  }

  size_t Unsettled() const {
    return static_cast<size_t>(std::count_if(connections_.begin(), connections_.end(),
                                             [](const Connection& c) { return c.state != Connection::kWatched; }));
  }

  // Accepts every queued connection (the listening fd is non-blocking).
  void AcceptAll(int64_t now) {
    while (Unsettled() < kMaxUnsettledConnections) {
      int fd = accept4(listener_.fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) {
        int err = errno;
        if (err == EAGAIN || err == EINTR) return;
        if (err == ECONNABORTED || err == EPROTO) continue;  // that client gave up; next
        // EMFILE/ENFILE/ENOBUFS/ENOMEM: the connection stays queued; retry later.
        acceptPausedUntilMs_ = now + kAcceptBackoffMs;
        ReportError(err, std::string("accept4 failed on ") + listener_.path + ": " + strerror(err) +
                             (err == EMFILE ? " (raise the open-files limit: ulimit -n)" : ""));
        return;
      }
      Connection c;
      c.id = ++nextConnectionId_;
      c.fd = fd;
      int credErr = -PeerCredentials(fd, &c.credentials);
      c.hasCredentials = credErr == 0;
      if (c.hasCredentials) c.pidfd = PeerPidfd(fd, c.credentials.pid);
      connections_.push_back(c);
      Delivery* d = NewDelivery(Delivery::kConnection, c);
      d->err = credErr;
      Send(d);
    }
  }

  // Reads the message of a readable connection. False when it must stay as
  // it is (spurious wake-up); true when it was delivered or ended.
  bool ReadMessage(Connection& c) {
    Delivery* d = NewDelivery(Delivery::kMessage, c);
    ssize_t n = ReceiveMessage(c.fd, c.budget, &d->message);
    if (n == -EAGAIN) {
      delete d;
      return false;
    }
    if (n <= 0) {
      d->kind = Delivery::kEnded;
      d->err = static_cast<int>(-n);
      c.CloseOwned();
      Send(d);
      return true;
    }
    d->connectionFd = c.fd;
    d->watched = c.pidfd >= 0;
    c.state = Connection::kWatched;  // the socket is JS's from here
    Send(d);
    return true;
  }

  void ApplyRequests() {
    std::vector<Request> requests;
    {
      std::lock_guard<std::mutex> lock(requestsMutex_);
      requests.swap(requests_);
    }
    for (const Request& r : requests) {
      auto it = std::find_if(connections_.begin(), connections_.end(),
                             [&](const Connection& c) { return c.id == r.connection; });
      if (it == connections_.end()) continue;  // already ended, exited or dropped
      if (r.kind == Request::kDrop) {
        it->CloseOwned();
        connections_.erase(it);
      } else if (it->state == Connection::kAwaitingDecision) {
        it->state = Connection::kReceiving;
        it->budget = r.budget;
      }
    }
  }

  void Run() {
    std::vector<pollfd> pfds;
    while (true) {
      int64_t now = sys::MonotonicMs();
      bool acceptNow = Unsettled() < kMaxUnsettledConnections && now >= acceptPausedUntilMs_;
      pfds.clear();
      pfds.push_back({wakeFd_, POLLIN, 0});
      pfds.push_back({acceptNow ? listener_.fd : -1, POLLIN, 0});  // fd -1: ignored by poll
      for (const Connection& c : connections_) {
        int fd = c.state == Connection::kReceiving ? c.fd : c.state == Connection::kWatched ? c.pidfd : -1;
        pfds.push_back({fd, POLLIN, 0});
      }
      int timeout = -1;
      if (!acceptNow && Unsettled() < kMaxUnsettledConnections) {
        timeout = static_cast<int>(std::min<int64_t>(std::max<int64_t>(acceptPausedUntilMs_ - now, 0), INT_MAX));
      }
      int ready = poll(pfds.data(), pfds.size(), timeout);
      if (ready < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ReportError(err, std::string("poll failed: ") + strerror(err) + "; the server stopped accepting");
        return;
      }
      if (pfds[0].revents != 0) {
        sys::EventfdTake(wakeFd_);
        if (stopping_.load()) return;  // close(): Stop() cleans up
        ApplyRequests();
        continue;  // the index layout of pfds may have changed
      }
      std::vector<Connection> still;
      still.reserve(connections_.size());
      for (size_t i = 0; i < connections_.size(); i++) {
        Connection& c = connections_[i];
        if (pfds[i + 2].revents == 0) {
          still.push_back(c);
        } else if (c.state == Connection::kWatched) {
          // A pidfd polls readable once its process has exited.
          CloseQuietly(c.pidfd);
          Delivery* d = NewDelivery(Delivery::kExited, c);
          Send(d);
        } else if (!ReadMessage(c) || (c.state == Connection::kWatched && c.pidfd >= 0)) {
          still.push_back(c);
        }
      }
      connections_.swap(still);
      if (pfds[1].revents != 0) AcceptAll(sys::MonotonicMs());
    }
  }

  UnixListener listener_;
  int wakeFd_ = -1;
  bool stopped_ = false;
  uint64_t nextConnectionId_ = 0;
  int64_t acceptPausedUntilMs_ = 0;
  std::vector<Connection> connections_;  // touched by the thread only (and by Stop() after the join)
  std::atomic<bool> stopping_{false};
  std::mutex requestsMutex_;
  std::vector<Request> requests_;  // from JS, applied by the thread
  DeliveryFn deliver_;
  Napi::Env::CleanupHook<std::function<void()>> cleanup_;
  std::thread thread_;
};

void SetCredentials(Napi::Env env, Napi::Object event, const Delivery& d) {
  if (!d.hasCredentials) return;
  event.Set("pid", Napi::Number::New(env, d.credentials.pid));
  event.Set("uid", Napi::Number::New(env, d.credentials.uid));
  event.Set("gid", Napi::Number::New(env, d.credentials.gid));
}

// { code: 'ECONNRESET', message: 'Connection reset by peer' } for errno `err`.
Napi::Object ErrnoObject(Napi::Env env, int err) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("code", ErrnoName(err));
  o.Set("message", strerror(err));
  return o;
}

Napi::Object EventObject(Napi::Env env, Delivery& d) {
  Napi::Object event = Napi::Object::New(env);
  event.Set("connection", Napi::Number::New(env, static_cast<double>(d.connection)));
  switch (d.kind) {
    case Delivery::kConnection:
      event.Set("kind", "connection");
      SetCredentials(env, event, d);
      if (d.err != 0) event.Set("credentialsError", ErrnoObject(env, d.err));
      break;
    case Delivery::kMessage: {
      event.Set("kind", "message");
      SetCredentials(env, event, d);
      event.Set("fd", Napi::Number::New(env, d.connectionFd));
      const std::vector<uint8_t>& payload = d.message.payload;
      event.Set("payload", Napi::Buffer<uint8_t>::Copy(env, payload.data(), payload.size()));
      Napi::Array fds = Napi::Array::New(env, d.message.fds.size());
      for (size_t i = 0; i < d.message.fds.size(); i++) fds.Set(static_cast<uint32_t>(i), Napi::Number::New(env, d.message.fds[i]));
      event.Set("fds", fds);
      event.Set("fdsTruncated", Napi::Boolean::New(env, d.message.fds_truncated));
      event.Set("peerClosed", Napi::Boolean::New(env, d.message.peer_closed));
      event.Set("watched", Napi::Boolean::New(env, d.watched));
      break;
    }
    case Delivery::kEnded:
      event.Set("kind", "ended");
      SetCredentials(env, event, d);
      if (d.err != 0) event.Set("error", ErrnoObject(env, d.err));
      break;
    case Delivery::kExited:
      event.Set("kind", "exited");
      event.Set("pid", Napi::Number::New(env, d.credentials.pid));
      break;
    case Delivery::kError:
      event.Set("kind", "error");
      event.Set("code", d.code);
      event.Set("message", d.text);
      break;
  }
  return event;
}

// Runs on the JS thread. `env` is null when the TSFN is being torn down with
// this delivery still queued: nobody will own the fds, so close them.
void DeliverToJs(Napi::Env env, Napi::Function callback, UnixServer* server, Delivery* d) {
  if (env == nullptr || callback.IsEmpty()) {
    d->CloseFds();
    delete d;
    return;
  }
  Napi::Object event = EventObject(env, *d);
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
