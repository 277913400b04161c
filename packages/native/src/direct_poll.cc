// The direct poll set: where idle serve loops park so that a fault costs one
// wake-up (kernel -> worker), as in a plain C handler, instead of two
// (kernel -> reader thread -> worker).
//
// It is an epoll instance holding the handler's own uffds plus a "kick"
// eventfd. Idle workers block in epoll_wait on it; when a fault arrives the
// kernel wakes one of them, which reads the uffd itself, encodes the messages
// as ring records (the same 16-byte format) into its own buffer and resolves
// them without touching the ring. The reader thread stays the path for the
// busy case: every uffd is also in the reader's epoll, and both registrations
// use EPOLLEXCLUSIVE, so the kernel wakes the first registration that has a
// waiter. The direct set is registered first (the handler adds a uffd here
// before giving it to the reader), so a parked worker wins, and the reader
// takes over when every worker is busy.
//
// The kick eventfd (semaphore mode) wakes parked workers for everything else:
// records the reader published to the ring, control messages, close.
//
// Rules the callers keep (FaultHandler does):
// - Only uffds without event features go here. Events (FORK, REMAP, REMOVE,
//   UNMAP) must pass through the reader's barrier (docs/ring.md §7); a uffd
//   negotiated without them never reports them.
// - A uffd is closed only after every worker stopped polling (handler close),
//   so an fd number read from the table here is never a reused one.
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cmath>

#include "args.h"
#include "errors.h"
#include "init.h"
#include "ring.h"
#include "sys/eventfd.h"
#include "uffd_read.h"

namespace faultline {

namespace {

constexpr uint64_t kKickTag = ~uint64_t{0};  // epoll data of the kick eventfd
constexpr uint32_t kMaxPull = 16;            // uffd_msg per read(2) from a worker

// The Int32Array argument `index` (over a SharedArrayBuffer in practice).
int32_t* ArgInt32Words(const Napi::CallbackInfo& info, size_t index, const char* name, size_t* count) {
  ViewBytes view = ArgView(info, index, name);
  if (!view.isTypedArray || view.type != napi_int32_array) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be an Int32Array");
  }
  *count = view.length / sizeof(int32_t);
  return reinterpret_cast<int32_t*>(view.data);
}

Napi::Value Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  sys::EpollWithEventfd set;
  const char* failed_call = "";
  if (int rc = sys::OpenEpollWithEventfd(EFD_SEMAPHORE, kKickTag, &set, &failed_call); rc < 0) {
    throw ErrnoError(env, failed_call, -rc);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("epollFd", Napi::Number::New(env, set.epoll_fd));
  out.Set("kickFd", Napi::Number::New(env, set.event_fd));
  return out;
}

// add(epollFd, uffd, uffdId): must run before the reader is given the uffd
// (registration order decides who the kernel wakes first).
Napi::Value Add(const Napi::CallbackInfo& info) {
  int epfd = ArgFd(info, 0, "epollFd");
  int fd = ArgFd(info, 1, "uffd");
  uint64_t id = ArgU64(info, 2, "uffdId");
  if (id > ring::kMaxUffdId) throw Napi::RangeError::New(info.Env(), "uffdId must be <= 4095");
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.u64 = id;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) throw ErrnoError(info.Env(), "epoll_ctl(EPOLL_CTL_ADD)", errno);
  return info.Env().Undefined();
}

// kick(kickFd, count): lets up to `count` parked workers return.
Napi::Value Kick(const Napi::CallbackInfo& info) {
  int fd = FastFd(info, 0, "kickFd");
  uint64_t count = FastU64(info, 1, "count");
  if (count == 0) return info.Env().Undefined();
  count = std::min<uint64_t>(count, 1u << 20);
  if (int rc = sys::EventfdSignal(fd, count); rc < 0) throw ErrnoError(info.Env(), "write(kick eventfd)", -rc);
  return info.Env().Undefined();
}

// pull(epollFd, kickFd, uffdTable, records, busy, busyIndex, timeoutMs) ->
// records written (0: woken by a kick, timed out, or another thread read the
// message first). busy[busyIndex] is set to 1 before any uffd is read, so a
// draining close that sees the uffd empty also sees this worker busy.
Napi::Value Pull(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int epfd = FastFd(info, 0, "epollFd");
  int kick = FastFd(info, 1, "kickFd");
  size_t table_size = 0;
  int32_t* table = ArgInt32Words(info, 2, "uffdTable", &table_size);
  ViewBytes rec = ArgView(info, 3, "records");
  if (!rec.isTypedArray || rec.type != napi_uint32_array) throw Napi::TypeError::New(env, "records must be a Uint32Array");
  uint32_t* records = reinterpret_cast<uint32_t*>(rec.data);
  uint32_t max_records = static_cast<uint32_t>(rec.length / (ring::kRecordWords * sizeof(uint32_t)));
  size_t busy_size = 0;
  int32_t* busy = ArgInt32Words(info, 4, "busy", &busy_size);
  uint64_t busy_index = FastU64(info, 5, "busyIndex");
  if (busy_index >= busy_size) throw Napi::RangeError::New(env, "busyIndex is out of bounds");
  uint64_t timeout_ms = std::min<uint64_t>(FastU64(info, 6, "timeoutMs"), INT_MAX);

  epoll_event events[4];
  int n = epoll_wait(epfd, events, 4, static_cast<int>(timeout_ms));
  if (n < 0) {
    if (errno == EINTR) return Napi::Number::New(env, 0);
    throw ErrnoError(env, "epoll_wait", errno);
  }
  uint32_t count = 0;
  uffd_msg msgs[kMaxPull];
  for (int i = 0; i < n; i++) {
    if (events[i].data.u64 == kKickTag) {
      sys::EventfdTake(kick);  // semaphore: takes one kick, leaves the rest to others
      continue;
    }
    uint64_t id = events[i].data.u64;
    if (id >= table_size) continue;
    std::atomic_ref<int32_t>(busy[busy_index]).store(1);
    int fd = std::atomic_ref<int32_t>(table[id]).load();
    if (fd < 0) continue;
    uint32_t room = (max_records - count) / ring::kMaxMessageRecords;
    uint32_t want = std::min(kMaxPull, room);
    if (want == 0) break;
    int m = ReadUffdMsgs(fd, msgs, want);
    if (m <= 0) continue;  // -EAGAIN: the reader thread read it first
    for (int k = 0; k < m; k++) {
      count += ring::EncodeUffdMsg(msgs[k], static_cast<uint32_t>(id), records + count * ring::kRecordWords);
    }
  }
  return Napi::Number::New(env, count);
}

// readable(fd): true when a poll(2) right now reports input (a draining close
// checks uffds with it: epoll's ready lists are per instance and may lag).
Napi::Value Readable(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "fd");
  pollfd p{fd, POLLIN, 0};
  int r = poll(&p, 1, 0);
  if (r < 0) throw ErrnoError(info.Env(), "poll", errno);
  return Napi::Boolean::New(info.Env(), r > 0 && (p.revents & POLLIN) != 0);
}

}  // namespace

void InitDirectPoll(Napi::Env env, Napi::Object exports) {
  exports.Set("directPollCreate", Napi::Function::New(env, Create, "directPollCreate"));
  exports.Set("directPollAdd", Napi::Function::New(env, Add, "directPollAdd"));
  exports.Set("directPollKick", Napi::Function::New(env, Kick, "directPollKick"));
  exports.Set("directPollPull", Napi::Function::New(env, Pull, "directPollPull"));
  exports.Set("fdReadable", Napi::Function::New(env, Readable, "fdReadable"));
}

}  // namespace faultline
