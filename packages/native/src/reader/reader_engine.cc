#include "reader_engine.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>

#include "../sys/eventfd.h"
#include "../sys/fd.h"
#include "../uffd_read.h"
#include "../uffd_table.h"

namespace faultline {

namespace {

constexpr int kMaxEvents = 64;                  // epoll events per wait
constexpr uint64_t kControlTag = ~uint64_t{0};  // epoll data of the eventfd

}  // namespace

ReaderEngine::ReaderEngine(ring::RingView ring, int32_t* table, uint32_t table_size, int kick_fd)
    : ring_(ring), table_(table), table_size_(table_size), kick_fd_(kick_fd), watched_(table_size, -1) {
  // The pending batch holds at most one read(2) worth of records (ReadUffd
  // reads only with nothing pending): reserve it so the thread never grows it.
  pending_.reserve(size_t{kMaxRead} * ring::kMaxMessageRecords * ring::kRecordWords);
  commands_.reserve(16);
  applying_.reserve(16);
}

ReaderEngine::~ReaderEngine() { Stop(); }

int ReaderEngine::Start(const char** failed_call) {
  sys::EpollWithEventfd fds;
  if (int rc = sys::OpenEpollWithEventfd(0, kControlTag, &fds, failed_call); rc < 0) return rc;
  epoll_fd_ = fds.epoll_fd;
  control_fd_ = fds.event_fd;
  thread_ = std::thread([this] { Run(); });
  return 0;
}

// ------------------------------------------------------------ owning thread

ReaderAddResult ReaderEngine::Add(int fd, std::optional<uint64_t> claimed_id) {
  ReaderAddResult result;
  if (stopped_) {
    result.status = ReaderAddResult::kStopped;
    return result;
  }
  // O_NONBLOCK is a property of the open file: set it here for fds received
  // from elsewhere (another process, a socket).
  if (int rc = sys::SetNonBlocking(fd, &result.failed_call); rc < 0) {
    result.status = ReaderAddResult::kSyscallFailed;
    result.err = -rc;
    return result;
  }
  int64_t id;
  if (claimed_id.has_value()) {
    if (*claimed_id >= table_size_ || std::atomic_ref<int32_t>(table_[*claimed_id]).load() != fd) {
      result.status = ReaderAddResult::kNotClaimed;
      return result;
    }
    id = static_cast<int64_t>(*claimed_id);
  } else {
    id = ClaimId(fd);
  }
  if (id == kAlreadyInTable) {
    result.status = ReaderAddResult::kAlreadyAdded;
    return result;
  }
  if (id < 0) {
    result.status = ReaderAddResult::kTableFull;
    return result;
  }
  Post({Command::kAdd, static_cast<uint32_t>(id), fd});
  result.id = static_cast<uint32_t>(id);
  return result;
}

void ReaderEngine::Remove(uint32_t id) {
  if (stopped_) return;
  uint64_t ticket = Post({Command::kRemove, id, -1});
  // Wait until the reader thread applied it: afterwards it never reads that
  // fd again, so the caller may close it. The reader never blocks for long
  // (its waits are bounded and it checks commands every turn).
  std::unique_lock<std::mutex> lock(mutex_);
  applied_cv_.wait(lock, [&] { return applied_ >= ticket || thread_done_; });
}

bool ReaderEngine::Idle() {
  // Idle: the reader holds nothing unpublished and is (or is about to be)
  // blocked having seen nothing, and no watched uffd is readable right now.
  // epoll_wait from this thread is safe: level-triggered readiness is only
  // reported, never consumed, by a wait.
  if (stopped_) return true;
  if (busy_.load()) return false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (applied_ != posted_) return false;  // an Add not yet watched
  }
  epoll_event events[kMaxEvents];
  int n = epoll_wait(epoll_fd_, events, kMaxEvents, 0);
  for (int i = 0; i < n; i++) {
    if (events[i].data.u64 != kControlTag) return false;
  }
  return !busy_.load();
}

ReaderStats ReaderEngine::Stats() const {
  auto get = [](const std::atomic<uint64_t>& v) { return v.load(std::memory_order_relaxed); };
  ReaderStats s;
  s.messages = get(messages_);
  s.reads = get(reads_);
  s.stalls = get(stalls_);
  s.wakeups = get(wakeups_);
  s.hangups = get(hangups_);
  s.unknown_events = get(unknown_events_);
  s.forks_refused = get(forks_refused_);
  return s;
}

void ReaderEngine::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stop_.store(true);
  if (thread_.joinable()) {
    Signal();
    thread_.join();
  }
  DiscardPending();  // the thread is gone: nobody will publish what it held
  sys::CloseQuietly(control_fd_);
  sys::CloseQuietly(epoll_fd_);
  control_fd_ = epoll_fd_ = -1;
}

int64_t ReaderEngine::ClaimId(int fd) {
  static_assert(kAlreadyInTable == kUffdAlreadyInTable && kTableFull == kUffdTableFull);
  return ClaimUffdId(table_, table_size_, fd);
}

uint64_t ReaderEngine::Post(Command command) {
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

void ReaderEngine::Signal() { sys::EventfdSignal(control_fd_); }

// ------------------------------------------------------------ reader thread

void ReaderEngine::Run() {
  epoll_event events[kMaxEvents];
  while (!stop_.load()) {
    ApplyCommands();
    if (!FlushPending()) {
      // Ring full with records in hand: wait for consumers, read nothing.
      CountStall();
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
    // Nothing in hand but no free slot to read into: the uffd stays readable
    // (level-triggered), so wait for space before polling again.
    if (full && pending_records_ == 0) CountStall();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  thread_done_ = true;
  applied_cv_.notify_all();
}

// One step of waiting for ring space; a run of steps counts one stall.
void ReaderEngine::CountStall() {
  if (!stalled_) {
    stalled_ = true;
    stalls_.fetch_add(1, std::memory_order_relaxed);
  }
  ring::RingView::Backoff(stall_attempt_++);
}

void ReaderEngine::ApplyCommands() {
  uint64_t ticket;
  {
    // A swap, not a copy: the two vectors trade buffers, nothing is allocated
    // here (the owning thread's push_back is where capacity grows).
    std::lock_guard<std::mutex> lock(mutex_);
    applying_.swap(commands_);
    ticket = posted_;
  }
  for (const Command& c : applying_) {
    if (c.kind == Command::kAdd) {
      Watch(c.id, c.fd);
    } else {
      Unwatch(c.id, false);
    }
  }
  applying_.clear();
  std::lock_guard<std::mutex> lock(mutex_);
  applied_ = ticket;
  applied_cv_.notify_all();
}

void ReaderEngine::Watch(uint32_t id, int fd) {
  epoll_event ev{};
  // Exclusive: when the handler's direct poll set holds this uffd too (it
  // registered first), the kernel wakes a parked worker there and not us;
  // we are woken only when no worker waits (docs/performance.md).
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.u64 = id;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0) {
    watched_[id] = fd;
  } else {
    hangups_.fetch_add(1, std::memory_order_relaxed);  // fd closed before we got to it
  }
}

void ReaderEngine::Unwatch(uint32_t id, bool hangup) {
  if (watched_[id] < 0) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, watched_[id], nullptr);
  watched_[id] = -1;
  if (hangup) hangups_.fetch_add(1, std::memory_order_relaxed);
}

// Reads as many messages as fit in the ring's free slots from uffd `id`,
// encodes and publishes them. False if the ring had no room to read into.
bool ReaderEngine::ReadUffd(uint32_t id) {
  if (pending_records_ > 0) return false;  // publish what we hold first (order, bounded memory)
  uint32_t free = ring_.FreeSlots();
  if (free == 0) return false;
  int got = ReadUffdMsgs(watched_[id], msgs_, std::min(kMaxRead, free));
  if (got == -EAGAIN) return true;  // another wake-up raced us to it, or the fault was resolved first
  if (got <= 0) {
    Unwatch(id, true);  // end of file or an error: this uffd is unusable
    return true;
  }
  uint32_t count = static_cast<uint32_t>(got);
  reads_.fetch_add(1, std::memory_order_relaxed);
  messages_.fetch_add(count, std::memory_order_relaxed);
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
void ReaderEngine::PublishEventBarrier() {
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
void ReaderEngine::Encode(uint32_t id, const uffd_msg& msg) {
  ring::ForkChild fork_child;
  if (msg.event == UFFD_EVENT_FORK) {
    // The kernel installed the child's uffd in our fd table. Serving it needs
    // a uffd id; without one, what to do with the child (close its uffd, say
    // so) is the consumer's decision: the record hands it the fd, and the
    // fd stays open until the consumer closes it.
    int child_fd = static_cast<int>(msg.arg.fork.ufd);
    int64_t claimed = ClaimId(child_fd);
    if (claimed < 0) {
      fork_child = {static_cast<uint32_t>(child_fd), ring::kForkFlagUnserved};
      forks_refused_.fetch_add(1, std::memory_order_relaxed);
    } else {
      fork_child = {static_cast<uint32_t>(claimed), 0};
      sys::SetNonBlocking(child_fd);  // failing, the fd reports EPOLLERR and is dropped as a hangup
      Watch(static_cast<uint32_t>(claimed), child_fd);
    }
  }
  size_t at = pending_.size();
  pending_.resize(at + ring::kMaxMessageRecords * ring::kRecordWords);
  uint32_t n = ring::EncodeUffdMsg(msg, id, pending_.data() + at, fork_child);
  pending_.resize(at + n * ring::kRecordWords);
  pending_records_ += n;
  if (n == 0) unknown_events_.fetch_add(1, std::memory_order_relaxed);
}

// Publishes as much of the pending batch as fits (whole messages) and wakes
// consumers for it. True when nothing is left pending.
bool ReaderEngine::FlushPending() {
  if (pending_records_ == 0) return true;
  uint32_t n = ring_.TryPushSome(pending_.data() + pending_head_ * ring::kRecordWords, pending_records_);
  if (n > 0) {
    if (ring_.WakeConsumers(n)) wakeups_.fetch_add(1, std::memory_order_relaxed);
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
    DiscardPending();
    return true;
  }
  return false;
}

// Drops the unpublished records. An unserved FORK among them carries the only
// reference anyone has to the child's uffd fd: no consumer will close it, so
// close it here (the child's registered ranges become ordinary memory).
void ReaderEngine::DiscardPending() {
  const uint32_t* words = pending_.data() + pending_head_ * ring::kRecordWords;
  for (uint32_t i = 0; i < pending_records_; i += ring::MessageRecords(words[i * ring::kRecordWords])) {
    const uint32_t* record = words + i * ring::kRecordWords;
    if (ring::RecordKind(record[0]) == ring::kKindFork && (ring::RecordFlags(record[0]) & ring::kForkFlagUnserved) != 0) {
      sys::CloseQuietly(static_cast<int>(record[2]));  // arg: the child's fd
    }
  }
  pending_.clear();
  pending_head_ = 0;
  pending_records_ = 0;
}

// Workers parked in the direct poll set do not sleep on the ring's futex:
// they are woken through the kick eventfd (semaphore: one count per worker).
void ReaderEngine::KickPollers(uint32_t records) {
  if (kick_fd_ < 0) return;
  int32_t pollers = ring_.pollers();
  if (pollers <= 0) return;
  sys::EventfdSignal(kick_fd_, std::min<uint32_t>(static_cast<uint32_t>(pollers), records));
  wakeups_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace faultline
