// Where a serve loop waits for its next faults: leader/followers over the
// uffds a FaultHandler serves (docs/performance.md has the measurements that
// chose this design).
//
// Exactly one worker at a time, the leader, reads the uffds; the others sleep
// on a futex (kFollowerSeq) until the leader hands over. The leader keeps the
// lead while it resolves what it read (a synchronous resolver is a few
// microseconds: handing over would cost a wake-up per fault) and gives it up
// only before it goes away for long (async resolutions, control messages).
// One waiter means one wake-up per fault at most, never a herd of workers
// woken for one message, and the order of a uffd's messages is the order
// they are dispatched in (events are applied before any later fault is
// looked up, without the reader thread's barrier).
//
// How the leader waits, per the control block's kMode:
// - kModeRead: the own uffd alone, a blocking fd. It first spins with
//   preadv2(RWF_NOWAIT) (non-blocking on a blocking fd, Linux 6.9+) for an
//   adaptive window, then sleeps in read(2): one syscall per wait, as a plain
//   C handler. A leader in read(2) can only be woken by a fault, so the
//   handler rings a doorbell: a page of its own that a native thread touches
//   (serve/doorbell.cc); the leader answers it with a zero page and returns.
// - kModeEpoll: several uffds (adopted ones, fork children) or events. Every
//   served uffd is non-blocking and in the handler's epoll set together with a
//   kick eventfd; the leader spins with epoll_wait(0), then sleeps in
//   epoll_wait, then reads what is ready.
//
// The waiter returns to JS with ring records (docs/ring.md §2) for JS to
// resolve, 0 when JS should look around (control posted, timeout), or -1 once
// the handler is closing.
#include <linux/userfaultfd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>

#include "../args.h"
#include "../errors.h"
#include "../init.h"
#include "../ring.h"
#include "../sys/clock.h"
#include "../sys/eventfd.h"
#include "../sys/fd.h"
#include "../sys/futex.h"
#include "../uffd_constants.h"
#include "../uffd_table.h"
#include "control_words.h"
#include "native_path.h"
#include "region_table.h"
#include "spin_policy.h"

namespace faultline {

namespace {

constexpr uint64_t kKickTag = ~uint64_t{0};  // epoll data of the kick eventfd
constexpr uint32_t kMaxMessages = 16;        // uffd_msg per read(2)

int32_t* Int32Words(Napi::Object options, const char* key, size_t* count) {
  Napi::Value v = options.Get(key);
  ViewBytes view;
  if (!GetViewBytes(options.Env(), v, &view) || !view.isTypedArray || view.type != napi_int32_array) {
    throw Napi::TypeError::New(options.Env(), std::string("options.") + key + " must be an Int32Array over a SharedArrayBuffer");
  }
  *count = view.length / sizeof(int32_t);
  return reinterpret_cast<int32_t*>(view.data);
}

double NumberOption(Napi::Object options, const char* key, double min, double max) {
  Napi::Value v = options.Get(key);
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= min && d <= max)) {
    throw Napi::TypeError::New(options.Env(), std::string("options.") + key + " must be a number in [" + std::to_string(min) +
                                                  ", " + std::to_string(max) + "]");
  }
  return d;
}

// preadv2 with RWF_NOWAIT: a non-blocking read of a blocking uffd.
ssize_t ReadNoWait(int fd, uffd_msg* msgs, uint32_t count) {
  iovec iov{msgs, count * sizeof(uffd_msg)};
  return sys::RetryOnEintr([&] { return preadv2(fd, &iov, 1, -1, RWF_NOWAIT); });
}

}  // namespace

class FaultWaiter : public Napi::ObjectWrap<FaultWaiter> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FaultWaiter",
                       {InstanceMethod<&FaultWaiter::WaitJs>("wait"), InstanceMethod<&FaultWaiter::ReleaseJs>("release")});
  }

  // new FaultWaiter({ control, uffdTable, worker, ownUffdId, epollFd, kickFd,
  //                   doorbell, pageSize, maxSpinUs, parkMs,
  //                   regionTable, regionStats, nativeResolvers,
  //                   faultTrace?, epochMs? })
  explicit FaultWaiter(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FaultWaiter>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "new FaultWaiter(options) needs an options object");
    Napi::Object o = info[0].As<Napi::Object>();
    size_t words = 0;
    control_ = Int32Words(o, "control", &words);
    if (words < static_cast<size_t>(serve::kWords)) throw Napi::RangeError::New(env, "options.control is smaller than the control block");
    size_t table = 0;
    table_ = Int32Words(o, "uffdTable", &table);
    table_size_ = static_cast<uint32_t>(std::min<size_t>(table, ring::kMaxUffdId + 1));
    worker_ = static_cast<int>(NumberOption(o, "worker", 0, serve::kMaxWorkers - 1));
    me_ = worker_ + 1;
    own_id_ = static_cast<uint32_t>(NumberOption(o, "ownUffdId", 0, table_size_ - 1));
    epoll_fd_ = static_cast<int>(NumberOption(o, "epollFd", 0, INT32_MAX));
    kick_fd_ = static_cast<int>(NumberOption(o, "kickFd", 0, INT32_MAX));
    doorbell_ = static_cast<uint64_t>(NumberOption(o, "doorbell", 0, 9007199254740991.0));
    page_size_ = static_cast<uint64_t>(NumberOption(o, "pageSize", 1, 1 << 30));
    max_spin_ns_ = static_cast<uint64_t>(NumberOption(o, "maxSpinUs", 0, 1e6) * 1000);
    park_ms_ = static_cast<int>(NumberOption(o, "parkMs", 1, 60000));
    spin_ = serve::SpinPolicy(max_spin_ns_);
    keep_control_ = Napi::Persistent(o.Get("control").As<Napi::Object>());
    keep_table_ = Napi::Persistent(o.Get("uffdTable").As<Napi::Object>());
    ViewBytes regions;
    if (!GetViewBytes(env, o.Get("regionTable"), &regions) || !regions.isTypedArray || regions.type != napi_uint8_array) {
      throw Napi::TypeError::New(env, "options.regionTable must be a Uint8Array over the region table's SharedArrayBuffer");
    }
    regions_ = serve::RegionTableView(regions.data);
    if (regions.length < serve::RegionTableView::ByteLength(regions_.capacity())) {
      throw Napi::RangeError::New(env, "options.regionTable is smaller than its header says");
    }
    size_t stat_words = 0;
    int32_t* stats = Int32Words(o, "regionStats", &stat_words);
    // Optional: the fault trace recording regions append to (shared/fault-trace.ts).
    serve::FaultTraceView trace;
    if (o.Has("faultTrace") && o.Get("faultTrace").IsTypedArray()) {
      size_t trace_words = 0;
      int32_t* words = Int32Words(o, "faultTrace", &trace_words);
      trace = serve::FaultTraceView(words, trace_words, NumberOption(o, "epochMs", 0, 1e16));
      keep_trace_ = Napi::Persistent(o.Get("faultTrace").As<Napi::Object>());
    }
    native_ = serve::NativePath(regions_, serve::RegionStatsView(stats, stat_words), trace, page_size_);
    native_on_ = o.Get("nativeResolvers").ToBoolean().Value();
    keep_regions_ = Napi::Persistent(o.Get("regionTable").As<Napi::Object>());
    keep_stats_ = Napi::Persistent(o.Get("regionStats").As<Napi::Object>());
    // Others find out from this that the thread is alive (see RecoverDeadWorkers).
    Word(serve::SlotWord(worker_, serve::kSlotTid)).store(static_cast<int32_t>(syscall(SYS_gettid)));
  }

 private:
  // wait(records: Uint32Array, seenSeq: number, mayPark: boolean) -> records
  // written (> 0), 0 (look around: control posted, nothing found without
  // parking, or a timeout), or -1 (the handler is closing).
  Napi::Value WaitJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ViewBytes rec = ArgView(info, 0, "records");
    if (!rec.isTypedArray || rec.type != napi_uint32_array) throw Napi::TypeError::New(env, "records must be a Uint32Array");
    uint32_t max_records = static_cast<uint32_t>(rec.length / (ring::kRecordWords * sizeof(uint32_t)));
    if (max_records < ring::kMaxMessageRecords) throw Napi::RangeError::New(env, "records must hold at least 16 records");
    int32_t seen = static_cast<int32_t>(static_cast<uint32_t>(FastU64(info, 1, "seenSeq")));
    bool may_park = info.Length() > 2 && info[2].ToBoolean().Value();
    return Napi::Number::New(env, Wait(reinterpret_cast<uint32_t*>(rec.data), max_records, seen, may_park));
  }

  // release(): gives up the lead (if held) and wakes one follower to take it.
  Napi::Value ReleaseJs(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  int Wait(uint32_t* out, uint32_t max_records, int32_t seen, bool may_park) {
    for (;;) {
      if (Load(serve::kClosed) != 0) {
        Release();
        return -1;
      }
      if (Load(serve::kSeq) != seen) return 0;
      if (Load(serve::kLeader) != me_) {
        int32_t none = 0;
        if (!Word(serve::kLeader).compare_exchange_strong(none, me_)) {
          if (!may_park) return 0;
          SleepAsFollower(seen);
          continue;
        }
      }
      uint64_t entered = sys::MonotonicNs();
      uint64_t window = may_park ? spin_.Window() : 0;
      got_ = 0;
      // Without a spin window a sleeping read is tried at once: it returns
      // at once too when a message is queued, and saves a syscall per fault.
      int n = window > 0 || !may_park ? Spin(out, max_records, seen, window) : 0;
      if (got_ == 0 && may_park) n = Park(out, max_records, seen);
      if (got_ > 0) {
        uint64_t now = sys::MonotonicNs();
        spin_.Arrived(now, now - entered, got_);
      }
      if (n > 0) return n;
      if (!may_park) return 0;
      // Nothing for JS: every message was served natively (wait for the
      // next), or woken without one (doorbell, kick, timeout): look again.
    }
  }

  // Followers sleep until the lead is free, control is posted or the handler
  // closes. Every parkMs without news they check that the workers holding
  // faults are alive: a worker that died (a resolver called process.exit)
  // leaves threads parked on faults it read, and the main thread, which would
  // recover them, may be one of those threads.
  void SleepAsFollower(int32_t seen) {
    int32_t ticket = Load(serve::kFollowerSeq);
    if (Load(serve::kLeader) == 0 || Load(serve::kSeq) != seen || Load(serve::kClosed) != 0) return;
    timespec timeout = sys::MillisecondsTimeout(park_ms_);
    if (sys::FutexWait(&control_[serve::kFollowerSeq], ticket, &timeout) == -ETIMEDOUT) RecoverDeadWorkers();
  }

  // A worker that holds faults (busy) or the lead and whose thread is gone:
  // free its lead and slot, and wake every served range so the threads parked
  // on what it held fault again (a wake without an install re-delivers).
  void RecoverDeadWorkers() {
    bool recovered = false;
    for (int w = 0; w < serve::kMaxWorkers; w++) {
      if (w == worker_) continue;
      int32_t tid = Load(serve::SlotWord(w, serve::kSlotTid));
      if (tid == 0) continue;
      bool leads = Load(serve::kLeader) == w + 1;
      if (!leads && Load(serve::SlotWord(w, serve::kSlotBusy)) == 0) continue;
      if (syscall(SYS_tgkill, getpid(), tid, 0) == 0 || errno != ESRCH) continue;  // alive
      int32_t expected = tid;
      if (!Word(serve::SlotWord(w, serve::kSlotTid)).compare_exchange_strong(expected, 0)) continue;  // someone else recovers it
      Word(serve::SlotWord(w, serve::kSlotBusy)).store(0);
      int32_t lead = w + 1;
      Word(serve::kLeader).compare_exchange_strong(lead, 0);
      Word(serve::kDeadWorkers).fetch_add(1);
      recovered = true;
    }
    if (recovered) WakeAllServedRanges();
  }

  void WakeAllServedRanges() {
    regions_.ForEach([&](uint32_t uffd_id, uint64_t start, uint64_t length) {
      if (uffd_id >= table_size_) return;
      int fd = std::atomic_ref<int32_t>(table_[uffd_id]).load();
      if (fd < 0) return;
      uffdio_range range{start, length};
      ioctl(fd, UFFDIO_WAKE, &range);
    });
  }

  void Release() {
    int32_t mine = me_;
    if (!Word(serve::kLeader).compare_exchange_strong(mine, 0)) return;
    Word(serve::kFollowerSeq).fetch_add(1);
    if (sys::FutexWake(&control_[serve::kFollowerSeq], 1) > 0) Word(serve::kHandoffs).fetch_add(1);
  }

  // Non-blocking reads until something comes, control is posted, or `window_ns` passes.
  int Spin(uint32_t* out, uint32_t max_records, int32_t seen, uint64_t window_ns) {
    uint64_t start = window_ns > 0 ? sys::MonotonicNs() : 0;
    for (bool first = true;; first = false) {
      int n = Load(serve::kMode) == serve::kModeRead ? ReadOwn(out, max_records, false) : ReadReady(out, max_records, 0);
      if (got_ > 0) {
        if (!first) Word(serve::kSpinHits).fetch_add(1);
        return n;
      }
      if (window_ns == 0 || Load(serve::kSeq) != seen || Load(serve::kClosed) != 0) return 0;
      if (sys::MonotonicNs() - start >= window_ns) return 0;
      // Let a thread woken onto this CPU run first (the faulting thread, once
      // answered, often is): a spinner must never delay the next fault.
      sched_yield();
    }
  }

  // Sleeps until a fault (or a wake-up) comes. Announces itself parked first
  // and re-checks, so a main thread that posts control either sees it parked
  // (and rings) or the leader sees the post (the futex handshake, docs/ring.md §5).
  int Park(uint32_t* out, uint32_t max_records, int32_t seen) {
    Word(serve::kLeaderParked).store(1);
    int n = 0;
    if (Load(serve::kSeq) == seen && Load(serve::kClosed) == 0) {
      Word(serve::kParks).fetch_add(1);
      n = Load(serve::kMode) == serve::kModeRead ? ReadOwn(out, max_records, true) : ReadReady(out, max_records, park_ms_);
    }
    Word(serve::kLeaderParked).store(0);
    return n;
  }

  // One read of the own uffd: blocking (it is a blocking fd in kModeRead) or not.
  int ReadOwn(uint32_t* out, uint32_t max_records, bool block) {
    int fd = std::atomic_ref<int32_t>(table_[own_id_]).load();
    if (fd < 0) return 0;
    ssize_t got = block ? sys::RetryOnEintr([&] { return read(fd, msgs_, Want(max_records) * sizeof(uffd_msg)); })
                        : ReadNoWait(fd, msgs_, Want(max_records));
    if (got <= 0) return 0;  // -EAGAIN: nothing pending (or the mode just changed)
    return Deliver(own_id_, static_cast<uint32_t>(got / sizeof(uffd_msg)), out, max_records);
  }

  // epoll_wait (timeout ms; 0 to just look), then reads every ready uffd.
  int ReadReady(uint32_t* out, uint32_t max_records, int timeout_ms) {
    epoll_event events[8];
    int ready = epoll_wait(epoll_fd_, events, 8, timeout_ms);
    uint32_t written = 0;
    for (int i = 0; i < ready; i++) {
      uint64_t id = events[i].data.u64;
      if (id == kKickTag) {
        sys::EventfdTake(kick_fd_);
        continue;
      }
      if (id >= table_size_) continue;
      int fd = std::atomic_ref<int32_t>(table_[id]).load();
      uint32_t room = max_records - written;
      if (fd < 0 || room < ring::kMaxMessageRecords) continue;
      ssize_t got = sys::ReadRetryingEintr(fd, msgs_, Want(room) * sizeof(uffd_msg));
      if (got <= 0) continue;
      written += Deliver(static_cast<uint32_t>(id), static_cast<uint32_t>(got / sizeof(uffd_msg)), out + written * ring::kRecordWords,
                         room);
    }
    return static_cast<int>(written);
  }

  static uint32_t Want(uint32_t room) { return std::min(kMaxMessages, room / ring::kMaxMessageRecords); }

  // Encodes `count` messages of uffd `id` as records for JS. Doorbell faults
  // are answered here (they only wake the leader); a FORK's child uffd gets an
  // id and joins the epoll set, or is handed over UNSERVED when none is free.
  uint32_t Deliver(uint32_t id, uint32_t count, uint32_t* out, uint32_t max_records) {
    got_ += count;
    std::atomic_ref<int32_t> busy(control_[serve::SlotWord(worker_, serve::kSlotBusy)]);
    int32_t was_busy = busy.exchange(1);  // before any answer: idle() must not see "nobody parked, nobody busy" before the counters
    // 'fault' samples are posted by JS, and once closing every fault gets its region's policy there.
    bool fast = native_on_ && Load(serve::kSampleEvery) == 0 && Load(serve::kClosing) == 0;
    int fd = std::atomic_ref<int32_t>(table_[id]).load();
    uint32_t written = 0;
    uint32_t messages = 0;
    for (uint32_t i = 0; i < count; i++) {
      const uffd_msg& msg = msgs_[i];
      if (msg.event == UFFD_EVENT_PAGEFAULT) {
        if (id == own_id_ && doorbell_ != 0 && (msg.arg.pagefault.address & ~(page_size_ - 1)) == doorbell_) {
          AnswerDoorbell();
          continue;
        }
        messages++;
        if (fast && native_.Serve(id, fd, msg)) {
          Word(serve::kNativeServed).fetch_add(1);
          continue;
        }
      } else {
        messages++;
      }
      ring::ForkChild child;
      if (msg.event == UFFD_EVENT_FORK) child = AdoptForkChild(static_cast<int>(msg.arg.fork.ufd));
      // Room is certain: Want() read at most max_records / kMaxMessageRecords messages.
      written += ring::EncodeUffdMsg(msg, id, out + written * ring::kRecordWords, child);
    }
    if (messages > 0) Word(serve::kWorkerMessages).fetch_add(static_cast<int32_t>(messages));
    if (written == 0) busy.store(was_busy);  // everything answered here
    return written;
  }

  void AnswerDoorbell() {
    int fd = std::atomic_ref<int32_t>(table_[own_id_]).load();
    uffdio_zeropage zero{};
    zero.range.start = doorbell_;
    zero.range.len = page_size_;
    if (ioctl(fd, UFFDIO_ZEROPAGE, &zero) != 0) {
      // EEXIST (never re-armed yet) does not wake the bell thread: wake it.
      uffdio_range range{doorbell_, page_size_};
      ioctl(fd, UFFDIO_WAKE, &range);
    }
    Word(serve::kDoorbells).fetch_add(1);
  }

  ring::ForkChild AdoptForkChild(int child_fd) {
    int64_t claimed = ClaimUffdId(table_, table_size_, child_fd);
    if (claimed < 0) return {static_cast<uint32_t>(child_fd), ring::kForkFlagUnserved};
    sys::SetNonBlocking(child_fd);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = static_cast<uint64_t>(claimed);
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, child_fd, &ev);
    return {static_cast<uint32_t>(claimed), 0};
  }

  std::atomic_ref<int32_t> Word(int index) { return std::atomic_ref<int32_t>(control_[index]); }
  int32_t Load(int index) { return Word(index).load(); }

  int32_t* control_ = nullptr;
  int32_t* table_ = nullptr;
  uint32_t table_size_ = 0;
  int worker_ = 0;
  int32_t me_ = 1;
  uint32_t own_id_ = 0;
  int epoll_fd_ = -1;
  int kick_fd_ = -1;
  uint64_t doorbell_ = 0;
  uint64_t page_size_ = 4096;
  uint64_t max_spin_ns_ = 0;
  serve::SpinPolicy spin_;
  int park_ms_ = 100;
  Napi::ObjectReference keep_control_;  // the SABs outlive the waiter
  Napi::ObjectReference keep_table_;
  Napi::ObjectReference keep_regions_;
  Napi::ObjectReference keep_stats_;
  Napi::ObjectReference keep_trace_;
  serve::RegionTableView regions_;
  serve::NativePath native_;
  bool native_on_ = false;
  uint32_t got_ = 0;  // messages read by the current Wait step (served here or not)
  uffd_msg msgs_[kMaxMessages];
};

// serveSetCreate() -> { epollFd, kickFd }: the epoll set a leader waits on in
// kModeEpoll (served uffds are added with serveSetAdd), with its kick eventfd.
Napi::Value ServeSetCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  sys::EpollWithEventfd set;
  const char* failed_call = "";
  if (int rc = sys::OpenEpollWithEventfd(0, kKickTag, &set, &failed_call); rc < 0) throw ErrnoError(env, failed_call, -rc);
  Napi::Object out = Napi::Object::New(env);
  out.Set("epollFd", Napi::Number::New(env, set.epoll_fd));
  out.Set("kickFd", Napi::Number::New(env, set.event_fd));
  return out;
}

// serveSetAdd(epollFd, uffd, uffdId): the uffd joins the set (it must be non-blocking).
Napi::Value ServeSetAdd(const Napi::CallbackInfo& info) {
  int epfd = ArgFd(info, 0, "epollFd");
  int fd = ArgFd(info, 1, "uffd");
  uint64_t id = ArgU64(info, 2, "uffdId");
  if (id > ring::kMaxUffdId) throw Napi::RangeError::New(info.Env(), "uffdId must be <= 4095");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = id;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0 && errno != EEXIST) throw ErrnoError(info.Env(), "epoll_ctl(EPOLL_CTL_ADD)", errno);
  return info.Env().Undefined();
}

// serveSetRemove(epollFd, uffd): the uffd leaves the set (ENOENT: it was not in it).
Napi::Value ServeSetRemove(const Napi::CallbackInfo& info) {
  int epfd = ArgFd(info, 0, "epollFd");
  int fd = ArgFd(info, 1, "uffd");
  if (epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nullptr) != 0 && errno != ENOENT && errno != EBADF) {
    throw ErrnoError(info.Env(), "epoll_ctl(EPOLL_CTL_DEL)", errno);
  }
  return info.Env().Undefined();
}

// serveSetKick(kickFd): wakes a leader sleeping in epoll_wait on the set.
Napi::Value ServeSetKick(const Napi::CallbackInfo& info) {
  if (int rc = sys::EventfdSignal(FastFd(info, 0, "kickFd")); rc < 0) throw ErrnoError(info.Env(), "write(kick eventfd)", -rc);
  return info.Env().Undefined();
}

// setBlocking(fd, blocking): clears or sets O_NONBLOCK on the open file
// (kModeRead needs the own uffd blocking, kModeEpoll non-blocking).
Napi::Value SetBlocking(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "fd");
  bool blocking = info.Length() > 1 && info[1].ToBoolean().Value();
  const char* failed = "fcntl";
  int rc = blocking ? sys::SetBlocking(fd, &failed) : sys::SetNonBlocking(fd, &failed);
  if (rc < 0) throw ErrnoError(info.Env(), failed, -rc);
  return info.Env().Undefined();
}

// readNoWaitSupported(fd): true when preadv2(RWF_NOWAIT) reads this blocking
// uffd without sleeping (Linux 6.9+); kModeRead needs it to spin. Call it
// before anything is registered: a pending message would be consumed.
Napi::Value ReadNoWaitSupported(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "fd");
  uffd_msg msg;
  ssize_t r = ReadNoWait(fd, &msg, 1);
  return Napi::Boolean::New(info.Env(), r == -EAGAIN);
}

void InitFaultWaiter(Napi::Env env, Napi::Object exports) {
  exports.Set("FaultWaiter", FaultWaiter::Define(env));
  auto add = [&](const char* name, Napi::Function::Callback fn) { exports.Set(name, Napi::Function::New(env, fn, name)); };
  add("serveSetCreate", ServeSetCreate);
  add("serveSetAdd", ServeSetAdd);
  add("serveSetRemove", ServeSetRemove);
  add("serveSetKick", ServeSetKick);
  add("setBlocking", SetBlocking);
  add("readNoWaitSupported", ReadNoWaitSupported);
}

}  // namespace faultline
