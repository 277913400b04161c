// The reader thread of one FaultHandler, without N-API: epoll over every uffd
// it serves plus an eventfd for control, read(2) many uffd_msg at once, encode
// them as ring records (docs/ring.md) and publish them, waking parked
// consumers. reader_binding.cc is its JS face.
//
// Invariants
// - Never drop a message: the reader reads only as many messages as the ring
//   has free slots, keeps what it read until it is published, and reads
//   nothing more while the ring is full. Unread faults stay queued in the
//   kernel (their threads stay parked), which is the back-pressure we want.
// - A uffd id's fd is in the uffd table (release store) before any record
//   carrying that id is published: consumers find the fd through the table.
// - Only the reader thread touches the epoll set and reads the fds. Add and
//   Remove post commands through the eventfd; Remove waits until the reader
//   has applied it, so after it returns the fd may be closed safely.
//
// - The reader thread never allocates once started. A fork(2) in this process
//   holds every malloc lock until the reader has read its FORK event (the
//   kernel parks the forking thread until then), so a reader blocked in
//   malloc at that moment would wait for a thread that waits for it. Every
//   buffer it uses is sized in the constructor.
//
// Threads: the constructor, Start, Add, Remove, Idle, Stats and Stop are
// called from one owning thread (the JS thread); everything else runs on the
// reader thread.
#pragma once
#include <linux/userfaultfd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "../ring.h"

namespace faultline {

struct ReaderStats {
  uint64_t messages = 0;        // uffd_msg read from the kernel
  uint64_t reads = 0;           // read(2) calls that returned messages
  uint64_t stalls = 0;          // waits for ring space
  uint64_t wakeups = 0;         // consumer wake-ups (futex or kick)
  uint64_t hangups = 0;         // uffds dropped as unusable
  uint64_t unknown_events = 0;  // messages the ring format does not know (skipped)
  uint64_t forks_refused = 0;   // FORK children no uffd id was free for (published as unserved)
};

struct ReaderAddResult {
  enum Status { kAdded, kStopped, kSyscallFailed, kNotClaimed, kAlreadyAdded, kTableFull } status = kAdded;
  uint32_t id = 0;                    // kAdded: the uffd id
  int err = 0;                        // kSyscallFailed: errno
  const char* failed_call = nullptr;  // kSyscallFailed: the call that failed
};

class ReaderEngine {
 public:
  // `table` (fd per uffd id, -1 when free; `table_size` entries, at most
  // ring::kMaxUffdId + 1) and the ring's memory must outlive the engine.
  // `kick_fd`: the direct poll set's kick eventfd, -1 when none.
  ReaderEngine(ring::RingView ring, int32_t* table, uint32_t table_size, int kick_fd);
  ~ReaderEngine();
  ReaderEngine(const ReaderEngine&) = delete;
  ReaderEngine& operator=(const ReaderEngine&) = delete;

  // Opens the epoll set and its control eventfd and starts the thread.
  // Returns 0, or -errno with `*failed_call` naming the call that failed.
  int Start(const char** failed_call);

  // Starts serving `fd` (sets O_NONBLOCK on it: epoll on a blocking uffd
  // reports POLLERR). With `claimed_id`, the caller already stored fd in
  // table[claimed_id] (by compare-and-swap) and only the claim is checked;
  // without, the first free entry is claimed.
  ReaderAddResult Add(int fd, std::optional<uint64_t> claimed_id);

  // Stops watching uffd `id` (< table_size()); returns once the reader thread
  // will not read its fd again. Never closes the fd nor frees the entry.
  void Remove(uint32_t id);

  // True while no uffd has a pending message and the reader holds none.
  bool Idle();

  ReaderStats Stats() const;

  // Idempotent: joins the thread and closes the engine's own fds (never the
  // uffds: they belong to the caller, or for FORK children to the table).
  void Stop();

  bool stopped() const { return stopped_; }
  uint32_t table_size() const { return table_size_; }

 private:
  struct Command {
    enum Kind { kAdd, kRemove } kind;
    uint32_t id;
    int fd;
  };

  static constexpr int64_t kTableFull = -1;
  static constexpr int64_t kAlreadyInTable = -2;

  // Both threads (add() and FORK children claim ids).
  int64_t ClaimId(int fd);

  // Owning thread.
  uint64_t Post(Command command);
  void Signal();

  // Reader thread.
  void Run();
  void CountStall();
  void ApplyCommands();
  void Watch(uint32_t id, int fd);
  void Unwatch(uint32_t id, bool hangup);
  bool ReadUffd(uint32_t id);
  void PublishEventBarrier();
  void Encode(uint32_t id, const uffd_msg& msg);
  bool FlushPending();
  void DiscardPending();
  void KickPollers(uint32_t records);

  ring::RingView ring_;
  int32_t* table_;
  uint32_t table_size_;
  int kick_fd_;
  int epoll_fd_ = -1;
  int control_fd_ = -1;
  std::thread thread_;
  bool stopped_ = false;  // owning thread only
  std::atomic<bool> stop_{false};
  std::atomic<bool> busy_{true};

  std::atomic<uint64_t> messages_{0};
  std::atomic<uint64_t> reads_{0};
  std::atomic<uint64_t> stalls_{0};
  std::atomic<uint64_t> wakeups_{0};
  std::atomic<uint64_t> hangups_{0};
  std::atomic<uint64_t> unknown_events_{0};
  std::atomic<uint64_t> forks_refused_{0};

  // Shared between the owning thread and the reader thread.
  std::mutex mutex_;
  std::condition_variable applied_cv_;
  std::vector<Command> commands_;  // posted, not yet taken by the reader thread
  uint64_t posted_ = 0;
  uint64_t applied_ = 0;
  bool thread_done_ = false;

  // Reader thread only.
  static constexpr uint32_t kMaxRead = 64;  // uffd_msg per read(2)
  std::vector<Command> applying_;           // swapped with commands_: capacity kept, no allocation
  std::vector<int> watched_;                // fd per uffd id while watched, else -1
  std::vector<uint32_t> pending_;           // capacity for one full read(2), reserved up front
  uint32_t pending_head_ = 0;
  uint32_t pending_records_ = 0;
  uint32_t events_published_ = 0;  // event messages published
  bool stalled_ = false;
  uint32_t stall_attempt_ = 0;
  uffd_msg msgs_[kMaxRead];
};

}  // namespace faultline
