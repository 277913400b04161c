// The reader thread of one FaultHandler: epoll over every uffd it serves plus
// an eventfd for control, read(2) many uffd_msg at once, encode them as ring
// records (docs/ring.md) and publish them, waking parked consumers.
//
// Invariants
// - Never drop a message: the reader reads only as many messages as the ring
//   has free slots, keeps what it read until it is published, and reads
//   nothing more while the ring is full. Unread faults stay queued in the
//   kernel (their threads stay parked), which is the back-pressure we want.
// - A uffd id's fd is in the uffd table (release store) before any record
//   carrying that id is published: consumers find the fd through the table.
// - Only the reader thread touches the epoll set and reads the fds. JS-side
//   add/remove post commands through the eventfd; remove() waits until the
//   reader has applied it, so after it returns the fd may be closed safely.
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "errors.h"
#include "init.h"
#include "ring.h"
#include "ring_arg.h"
#include "sys/eventfd.h"
#include "sys/fd.h"
#include "uffd_read.h"

namespace faultline {

namespace {

constexpr int kMaxEvents = 64;      // epoll events per wait
constexpr uint32_t kMaxRead = 64;   // uffd_msg per read(2)
constexpr uint64_t kControlTag = ~uint64_t{0};  // epoll data of the eventfd

struct Command {
  enum Kind { kAdd, kRemove } kind;
  uint32_t id;
  int fd;
};

struct Counters {
  std::atomic<uint64_t> messages{0};
  std::atomic<uint64_t> reads{0};
  std::atomic<uint64_t> stalls{0};
  std::atomic<uint64_t> wakeups{0};
  std::atomic<uint64_t> hangups{0};
  std::atomic<uint64_t> unknown_events{0};
  std::atomic<uint64_t> forks_refused{0};
};

}  // namespace

class Reader : public Napi::ObjectWrap<Reader> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Reader",
                       {InstanceMethod<&Reader::Add>("add"), InstanceMethod<&Reader::Remove>("remove"),
                        InstanceMethod<&Reader::Idle>("idle"), InstanceMethod<&Reader::Stats>("stats"),
                        InstanceMethod<&Reader::StopJs>("stop")});
  }

  explicit Reader(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Reader>(info), ring_(RingArg(info, 0, "ring")) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      throw Napi::TypeError::New(env, "uffdTable must be an Int32Array over a SharedArrayBuffer (fd per uffd id, -1 when free)");
    }
    Napi::Int32Array table = info[1].As<Napi::Int32Array>();
    table_ = table.Data();
    table_size_ = static_cast<uint32_t>(std::min<size_t>(table.ElementLength(), ring::kMaxUffdId + 1));
    if (table_size_ == 0) throw Napi::RangeError::New(env, "uffdTable must have at least one entry");
    if (info.Length() > 2 && !info[2].IsUndefined()) {
      if (!info[2].IsObject()) throw Napi::TypeError::New(env, "options must be an object ({ kickFd })");
      Napi::Value kick = info[2].As<Napi::Object>().Get("kickFd");
      if (!kick.IsUndefined()) {
        if (!kick.IsNumber() || kick.As<Napi::Number>().Int32Value() < 0) {
          throw Napi::TypeError::New(env, "options.kickFd must be a file descriptor (the direct poll set's kick eventfd)");
        }
        kick_fd_ = kick.As<Napi::Number>().Int32Value();
      }
    }
    keep_ring_ = Napi::Persistent(info[0].As<Napi::Object>());
    keep_table_ = Napi::Persistent(info[1].As<Napi::Object>());
    watched_.assign(table_size_, -1);

    sys::EpollWithEventfd fds;
    const char* failed_call = "";
    if (int rc = sys::OpenEpollWithEventfd(0, kControlTag, &fds, &failed_call); rc < 0) {
      throw ErrnoError(env, failed_call, -rc);
    }
    epoll_fd_ = fds.epoll_fd;
    control_fd_ = fds.event_fd;
    // A worker or process exit must never leave the thread running over
    // buffers that are about to be freed.
    napi_add_env_cleanup_hook(env, &Reader::CleanupHook, this);
    thread_ = std::thread([this] { Run(); });
  }

  ~Reader() override {
    Stop();
    napi_remove_env_cleanup_hook(Env(), &Reader::CleanupHook, this);
  }

 private:
  // ------------------------------------------------------------ JS side

  Napi::Value Add(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int fd = ArgFd(info, 0, "fd");
    if (stopped_) throw CodedError(env, "ERR_FAULTLINE_READER_STOPPED", "the reader is stopped: create a new Reader");
    // epoll on a blocking uffd reports POLLERR: the reader needs O_NONBLOCK,
    // which is a property of the open file, so set it here for fds received
    // from elsewhere (another process, a socket).
    const char* failed_call = "";
    if (int rc = sys::SetNonBlocking(fd, &failed_call); rc < 0) {
      throw ErrnoError(env, failed_call, -rc, rc == -EBADF ? "pass an open userfaultfd" : "");
    }
    int64_t id;
    if (info.Length() > 1 && !info[1].IsUndefined()) {
      // The caller claimed the slot itself (so its regions are described
      // before any fault is read); just check the claim.
      id = static_cast<int64_t>(ArgU64(info, 1, "id"));
      if (id >= static_cast<int64_t>(table_size_) || std::atomic_ref<int32_t>(table_[id]).load() != fd) {
        throw CodedError(env, "ERR_FAULTLINE_UFFD_NOT_CLAIMED",
                         "uffd table entry " + std::to_string(id) + " does not hold fd " + std::to_string(fd) +
                             ": claim it first with Atomics.compareExchange(table, id, -1, fd)");
      }
    } else {
      id = ClaimId(fd);
    }
    if (id == kAlreadyInTable) {
      throw CodedError(env, "ERR_FAULTLINE_UFFD_ALREADY_ADDED",
                       "fd " + std::to_string(fd) + " is already in the uffd table: add each uffd once");
    }
    if (id < 0) {
      throw CodedError(env, "ERR_FAULTLINE_UFFD_TABLE_FULL",
                       "every uffd id of the table is taken (" + std::to_string(table_size_) +
                           "): close uffds you no longer serve (their table entry back to -1) or use a larger table");
    }
    Post({Command::kAdd, static_cast<uint32_t>(id), fd});
    return Napi::Number::New(env, static_cast<double>(id));
  }

  Napi::Value Remove(const Napi::CallbackInfo& info) {
    uint64_t id = ArgU64(info, 0, "id");
    if (id >= table_size_) throw Napi::RangeError::New(info.Env(), "id is not a uffd id of this reader's table");
    if (stopped_) return info.Env().Undefined();
    uint64_t ticket = Post({Command::kRemove, static_cast<uint32_t>(id), -1});
    // Wait until the reader thread applied it: afterwards it never reads that
    // fd again, so the caller may close it. The reader never blocks for long
    // (its waits are bounded and it checks commands every turn).
    std::unique_lock<std::mutex> lock(mutex_);
    applied_cv_.wait(lock, [&] { return applied_ >= ticket || thread_done_; });
    return info.Env().Undefined();
  }

  Napi::Value Idle(const Napi::CallbackInfo& info) {
    // Idle: the reader holds nothing unpublished and is (or is about to be)
    // blocked having seen nothing, and no watched uffd is readable right now.
    // epoll_wait from this thread is safe: level-triggered readiness is only
    // reported, never consumed, by a wait.
    if (stopped_) return Napi::Boolean::New(info.Env(), true);
    if (busy_.load()) return Napi::Boolean::New(info.Env(), false);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (applied_ != posted_) return Napi::Boolean::New(info.Env(), false);  // an add() not yet watched
    }
    epoll_event events[kMaxEvents];
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, 0);
    for (int i = 0; i < n; i++) {
      if (events[i].data.u64 != kControlTag) return Napi::Boolean::New(info.Env(), false);
    }
    return Napi::Boolean::New(info.Env(), !busy_.load());
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    auto put = [&](const char* name, const std::atomic<uint64_t>& v) {
      o.Set(name, Napi::Number::New(env, static_cast<double>(v.load(std::memory_order_relaxed))));
    };
    put("messages", counters_.messages);
    put("reads", counters_.reads);
    put("stalls", counters_.stalls);
    put("wakeups", counters_.wakeups);
    put("hangups", counters_.hangups);
    put("unknownEvents", counters_.unknown_events);
    put("forksRefused", counters_.forks_refused);
    return o;
  }

  Napi::Value StopJs(const Napi::CallbackInfo& info) {
    Stop();
    return info.Env().Undefined();
  }

  static void CleanupHook(void* self) { static_cast<Reader*>(self)->Stop(); }

  // Idempotent; joins the thread and closes the reader's own fds (never the
  // uffds: they belong to the caller, or for FORK children to the table).
  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    stop_.store(true);
    Signal();
    if (thread_.joinable()) thread_.join();
    sys::CloseQuietly(control_fd_);
    sys::CloseQuietly(epoll_fd_);
    control_fd_ = epoll_fd_ = -1;
  }

  static constexpr int64_t kTableFull = -1;
  static constexpr int64_t kAlreadyInTable = -2;

  // Takes the first free table entry (-1) for `fd` by compare-and-swap: the
  // JS side claims entries the same way (FaultHandler.adopt), from another
  // thread, so a plain check-then-store could hand one id out twice.
  int64_t ClaimId(int fd) {
    for (uint32_t id = 0; id < table_size_; id++) {
      if (std::atomic_ref<int32_t>(table_[id]).load() == fd) return kAlreadyInTable;
    }
    for (uint32_t id = 0; id < table_size_; id++) {
      int32_t expected = -1;
      if (std::atomic_ref<int32_t>(table_[id]).compare_exchange_strong(expected, fd)) return id;
    }
    return kTableFull;
  }

  uint64_t Post(Command command) {
    uint64_t ticket;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      commands_.push_back(command);
      ticket = ++posted_;
    }
    busy_.store(true);  // the reader has work until it applied this and polled again
    Signal();
    return ticket;
  }

  void Signal() { sys::EventfdSignal(control_fd_); }

  // ------------------------------------------------------------ reader thread

  void Run() {
    epoll_event events[kMaxEvents];
    while (!stop_.load()) {
      ApplyCommands();
      if (!FlushPending()) {
        // Ring full with records in hand: wait for consumers, read nothing.
        if (!stalled_) {
          stalled_ = true;
          counters_.stalls.fetch_add(1, std::memory_order_relaxed);
        }
        ring::RingView::Backoff(stall_attempt_++);
        continue;
      }
      stalled_ = false;
      stall_attempt_ = 0;
      int n = epoll_wait(epoll_fd_, events, kMaxEvents, 0);
      if (n == 0) {
        busy_.store(false);
        n = epoll_wait(epoll_fd_, events, kMaxEvents, -1);
      }
      if (n < 0) continue;  // EINTR
      bool full = false;
      for (int i = 0; i < n && !stop_.load(); i++) {
        if (events[i].data.u64 == kControlTag) {
          sys::EventfdTake(control_fd_);
          continue;
        }
        busy_.store(true);
        uint32_t id = static_cast<uint32_t>(events[i].data.u64);
        if (watched_[id] < 0) continue;  // removed earlier in this batch
        if (events[i].events & (EPOLLHUP | EPOLLERR)) {
          // A uffd reports EPOLLERR when it is blocking or its UFFDIO_API
          // handshake was never done: it cannot be served, stop watching it.
          Unwatch(id, true);
        } else if (events[i].events & EPOLLIN) {
          if (!ReadUffd(id)) full = true;
        }
      }
      if (full && pending_records_ == 0) {
        // Nothing in hand but no free slot to read into: the uffd stays
        // readable (level-triggered), so wait for space before polling again.
        if (!stalled_) {
          stalled_ = true;
          counters_.stalls.fetch_add(1, std::memory_order_relaxed);
        }
        ring::RingView::Backoff(stall_attempt_++);
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    thread_done_ = true;
    applied_cv_.notify_all();
  }

  void ApplyCommands() {
    std::deque<Command> todo;
    uint64_t ticket;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      todo.swap(commands_);
      ticket = posted_;
    }
    for (const Command& c : todo) {
      if (c.kind == Command::kAdd) {
        Watch(c.id, c.fd);
      } else {
        Unwatch(c.id, false);
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    applied_ = ticket;
    applied_cv_.notify_all();
  }

  void Watch(uint32_t id, int fd) {
    epoll_event ev{};
    // Exclusive: when the handler's direct poll set holds this uffd too (it
    // registered first), the kernel wakes a parked worker there and not us;
    // we are woken only when no worker waits (docs/performance.md).
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.u64 = id;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0) {
      watched_[id] = fd;
    } else {
      counters_.hangups.fetch_add(1, std::memory_order_relaxed);  // fd closed before we got to it
    }
  }

  void Unwatch(uint32_t id, bool hangup) {
    if (watched_[id] < 0) return;
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, watched_[id], nullptr);
    watched_[id] = -1;
    if (hangup) counters_.hangups.fetch_add(1, std::memory_order_relaxed);
  }

  // Reads as many messages as fit in the ring's free slots from uffd `id`,
  // encodes and publishes them. False if the ring had no room to read into.
  bool ReadUffd(uint32_t id) {
    if (pending_records_ > 0) return false;  // publish what we hold first (order, bounded memory)
    uint32_t free = ring_.FreeSlots();
    if (free == 0) return false;
    uint32_t want = std::min(kMaxRead, free);
    int got = ReadUffdMsgs(watched_[id], msgs_, want);
    if (got == -EAGAIN) return true;  // another wake-up raced us to it, or the fault was resolved first
    if (got <= 0) {
      Unwatch(id, true);  // end of file or an error: this uffd is unusable
      return true;
    }
    uint32_t count = static_cast<uint32_t>(got);
    counters_.reads.fetch_add(1, std::memory_order_relaxed);
    counters_.messages.fetch_add(count, std::memory_order_relaxed);
    for (uint32_t i = 0; i < count; i++) {
      Encode(id, msgs_[i]);
      if (msgs_[i].event != UFFD_EVENT_PAGEFAULT) PublishEventBarrier();
    }
    FlushPending();
    return true;
  }

  // Events (FORK, REMAP, REMOVE, UNMAP) change what later faults mean: the
  // consumer that takes one edits the region table. Nothing published after
  // an event may be looked up before that edit, so publish up to and
  // including the event, then wait until consumers report it applied (ring
  // word kEventsApplied) before publishing anything else. Events are rare;
  // faults never wait on each other.
  void PublishEventBarrier() {
    events_published_++;
    uint32_t attempt = 0;
    while (!stop_.load() && !ring_.closed()) {
      if (pending_records_ > 0) {
        FlushPending();
      } else if (ring_.events_applied() == events_published_) {
        return;
      }
      ring::RingView::Backoff(attempt++);
    }
  }

  // Appends the records of one message to the pending batch.
  void Encode(uint32_t id, const uffd_msg& msg) {
    uint32_t child_id = 0;
    if (msg.event == UFFD_EVENT_FORK) {
      int child_fd = static_cast<int>(msg.arg.fork.ufd);
      int64_t claimed = ClaimId(child_fd);
      if (claimed < 0) {
        // No id left: we cannot serve the child. Closing its uffd makes the
        // child's registered ranges fall back to ordinary memory.
        close(child_fd);
        counters_.forks_refused.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      child_id = static_cast<uint32_t>(claimed);
      sys::SetNonBlocking(child_fd);  // failing, the fd reports EPOLLERR and is dropped as a hangup
      Watch(child_id, child_fd);
    }
    size_t at = pending_.size();
    pending_.resize(at + ring::kMaxMessageRecords * ring::kRecordWords);
    uint32_t n = ring::EncodeUffdMsg(msg, id, pending_.data() + at, child_id);
    pending_.resize(at + n * ring::kRecordWords);
    pending_records_ += n;
    if (n == 0) counters_.unknown_events.fetch_add(1, std::memory_order_relaxed);
  }

  // Publishes as much of the pending batch as fits (whole messages) and wakes
  // consumers for it. True when nothing is left pending.
  bool FlushPending() {
    if (pending_records_ == 0) return true;
    uint32_t n = ring_.TryPushSome(pending_.data() + pending_head_ * ring::kRecordWords, pending_records_);
    if (n > 0) {
      if (ring_.WakeConsumers(n)) counters_.wakeups.fetch_add(1, std::memory_order_relaxed);
      KickPollers(n);
      pending_head_ += n;
      pending_records_ -= n;
    }
    if (pending_records_ == 0) {
      pending_.clear();
      pending_head_ = 0;
      return true;
    }
    if (ring_.closed()) {
      // Closed with records in hand: the handler is shutting down and
      // resolves or fails what is still queued itself; nothing will consume.
      pending_.clear();
      pending_head_ = 0;
      pending_records_ = 0;
      return true;
    }
    return false;
  }

  // Workers parked in the direct poll set do not sleep on the ring's futex:
  // they are woken through the kick eventfd (semaphore: one count per worker).
  void KickPollers(uint32_t records) {
    if (kick_fd_ < 0) return;
    int32_t pollers = ring_.pollers();
    if (pollers <= 0) return;
    sys::EventfdSignal(kick_fd_, std::min<uint32_t>(static_cast<uint32_t>(pollers), records));
    counters_.wakeups.fetch_add(1, std::memory_order_relaxed);
  }

  ring::RingView ring_;
  int kick_fd_ = -1;  // the direct poll set's kick eventfd (owned by the handler), -1 when none
  uint32_t events_published_ = 0;  // event messages published (reader thread only)
  Napi::ObjectReference keep_ring_;   // the SABs outlive the thread
  Napi::ObjectReference keep_table_;
  int32_t* table_ = nullptr;
  uint32_t table_size_ = 0;
  int epoll_fd_ = -1;
  int control_fd_ = -1;
  std::thread thread_;
  bool stopped_ = false;  // JS thread only
  std::atomic<bool> stop_{false};
  std::atomic<bool> busy_{true};
  Counters counters_;

  // Shared between the JS thread and the reader thread.
  std::mutex mutex_;
  std::condition_variable applied_cv_;
  std::deque<Command> commands_;
  uint64_t posted_ = 0;
  uint64_t applied_ = 0;
  bool thread_done_ = false;

  // Reader thread only.
  std::vector<int> watched_;  // fd per uffd id while watched, else -1
  std::vector<uint32_t> pending_;
  uint32_t pending_head_ = 0;
  uint32_t pending_records_ = 0;
  bool stalled_ = false;
  uint32_t stall_attempt_ = 0;
  uffd_msg msgs_[kMaxRead];
};

void InitReader(Napi::Env env, Napi::Object exports) {
  exports.Set("Reader", Reader::Define(env));
}

}  // namespace faultline
