// The fault ring, C++ half (docs/ring.md is the spec; packages/core/src/ring/
// is the TypeScript half over the same bytes). Header-only: a RingView is a
// thin view over the int32 words of a SharedArrayBuffer that JS allocated, so
// it owns nothing and may be copied freely.
//
// Every control word (positions, seq[], wake word, counters) is accessed with
// seq_cst atomics through std::atomic_ref, matching JS Atomics.*; record words
// are plain, ordered by the seq stores/loads around them (docs/ring.md §4).
#pragma once

#include <linux/futex.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>

namespace faultline::ring {

// Header word indices (docs/ring.md §1).
inline constexpr int kMagic = 0;
inline constexpr int kVersion = 1;
inline constexpr int kCapacity = 2;
inline constexpr int kClosed = 3;
inline constexpr int kEnqueue = 16;
inline constexpr int kDequeue = 32;
inline constexpr int kWakeSeq = 48;
inline constexpr int kParked = 49;
// Consumers parked outside the ring futex (the handler's direct poll set,
// woken through its kick eventfd): producers that see it non-zero kick.
inline constexpr int kPollers = 50;
inline constexpr int kStalls = 56;
inline constexpr int kWakeups = 57;
// Event messages consumers have applied (to the region table); the reader
// publishes nothing after an event until this catches up (reader/reader_engine.cc).
inline constexpr int kEventsApplied = 58;

inline constexpr int32_t kRingMagic = 0x47524c46;
inline constexpr int32_t kRingVersion = 1;
inline constexpr size_t kHeaderBytes = 256;
inline constexpr uint32_t kMinCapacity = 2;
inline constexpr uint32_t kMaxCapacity = 1u << 24;
inline constexpr int kRecordWords = 4;
inline constexpr uint32_t kMaxMessageRecords = 16;

// Record kinds: the kernel's UFFD_EVENT_* codes, plus CONT.
inline constexpr uint32_t kKindFault = 0x12;
inline constexpr uint32_t kKindFork = 0x13;
inline constexpr uint32_t kKindRemap = 0x14;
inline constexpr uint32_t kKindRemove = 0x15;
inline constexpr uint32_t kKindUnmap = 0x16;
inline constexpr uint32_t kKindCont = 0x7f;
inline constexpr uint32_t kMaxUffdId = 4095;

// FORK flag: no uffd id was free for the child, so the reader does not serve
// it; the record's arg is the child uffd's fd number (an fd of the reader's
// process) instead of an id, and closing that fd is the consumer's job
// (docs/ring.md §2, §7).
inline constexpr uint32_t kForkFlagUnserved = 0x01;

inline constexpr size_t RecordsOffset(uint32_t capacity) { return (kHeaderBytes + 4 * size_t{capacity} + 15) & ~size_t{15}; }
inline constexpr size_t ByteLength(uint32_t capacity) { return RecordsOffset(capacity) + 16 * size_t{capacity}; }

// w0 of a record: kind | flags << 8 | cont << 16 | uffd id << 20.
inline constexpr uint32_t TypeWord(uint32_t kind, uint32_t flags, uint32_t cont, uint32_t uffd_id) {
  return (kind & 0xff) | ((flags & 0xff) << 8) | ((cont & 0xf) << 16) | ((uffd_id & 0xfff) << 20);
}
inline constexpr uint32_t RecordKind(uint32_t w0) { return w0 & 0xff; }
inline constexpr uint32_t RecordFlags(uint32_t w0) { return (w0 >> 8) & 0xff; }
inline constexpr uint32_t MessageRecords(uint32_t w0) { return 1 + ((w0 >> 16) & 0xf); }

inline void PutRecord(uint32_t* out, uint32_t w0, uint32_t w1, uint64_t arg) {
  out[0] = w0;
  out[1] = w1;
  out[2] = static_cast<uint32_t>(arg);
  out[3] = static_cast<uint32_t>(arg >> 32);
}

// What a FORK record says about the child's uffd: the uffd id the reader gave
// its fd, or with kForkFlagUnserved the fd itself.
struct ForkChild {
  uint32_t arg = 0;
  uint32_t flags = 0;
};

// Encodes one kernel uffd_msg as ring records into `out` (room for
// kMaxMessageRecords * 4 words). Returns the record count; 0 for an event this
// format does not know. For FORK the caller says what the record carries about
// the child (`fork_child`), never the kernel's fd as such.
inline uint32_t EncodeUffdMsg(const uffd_msg& msg, uint32_t uffd_id, uint32_t* out, ForkChild fork_child = {}) {
  auto head = [&](uint32_t kind, uint32_t flags, uint32_t cont, uint32_t tid, uint64_t arg) {
    PutRecord(out, TypeWord(kind, flags, cont, uffd_id), tid, arg);
  };
  auto cont = [&](uint32_t index, uint64_t arg) {
    PutRecord(out + index * kRecordWords, TypeWord(kKindCont, 0, index, uffd_id), 0, arg);
  };
  switch (msg.event) {
    case UFFD_EVENT_PAGEFAULT:
      head(kKindFault, static_cast<uint32_t>(msg.arg.pagefault.flags), 0, msg.arg.pagefault.feat.ptid,
           msg.arg.pagefault.address);
      return 1;
    case UFFD_EVENT_FORK:
      head(kKindFork, fork_child.flags, 0, 0, fork_child.arg);
      return 1;
    case UFFD_EVENT_REMAP:
      head(kKindRemap, 0, 2, 0, msg.arg.remap.from);
      cont(1, msg.arg.remap.to);
      cont(2, msg.arg.remap.len);
      return 3;
    case UFFD_EVENT_REMOVE:
      head(kKindRemove, 0, 1, 0, msg.arg.remove.start);
      cont(1, msg.arg.remove.end);
      return 2;
    case UFFD_EVENT_UNMAP:
      head(kKindUnmap, 0, 1, 0, msg.arg.remove.start);  // the kernel reuses the remove layout for UNMAP
      cont(1, msg.arg.remove.end);
      return 2;
    default:
      return 0;
  }
}

class RingView {
 public:
  enum class PushResult { kOk, kClosed };

  // `base` points at word 0 of a ring that passed Validate.
  explicit RingView(int32_t* base)
      : base_(base),
        capacity_(static_cast<uint32_t>(base[kCapacity])),
        mask_(capacity_ - 1),
        seq_(base + kHeaderBytes / 4),
        records_(reinterpret_cast<uint32_t*>(reinterpret_cast<char*>(base) + RecordsOffset(capacity_))) {}

  // Checks the header of `byte_length` bytes at `base`; on failure says why.
  static bool Validate(const int32_t* base, size_t byte_length, std::string* why) {
    if (byte_length < kHeaderBytes) {
      *why = "not a fault ring: smaller than the 256-byte header";
      return false;
    }
    int32_t magic = std::atomic_ref<const int32_t>(base[kMagic]).load();
    if (magic != kRingMagic) {
      *why = "not a fault ring (bad magic): create it with FaultRing.create";
      return false;
    }
    if (base[kVersion] != kRingVersion) {
      *why = "fault ring version " + std::to_string(base[kVersion]) + " is not supported (this addon speaks version 1)";
      return false;
    }
    uint32_t cap = static_cast<uint32_t>(base[kCapacity]);
    if (cap < kMinCapacity || cap > kMaxCapacity || (cap & (cap - 1)) != 0) {
      *why = "fault ring header is corrupt: capacity " + std::to_string(cap) + " is not a power of two in 2..2^24";
      return false;
    }
    if (byte_length < ByteLength(cap)) {
      *why = "fault ring is truncated: " + std::to_string(byte_length) + " bytes, capacity " + std::to_string(cap) +
             " needs " + std::to_string(ByteLength(cap));
      return false;
    }
    return true;
  }

  uint32_t capacity() const { return capacity_; }
  bool closed() const { return Load(kClosed) != 0; }
  // Event messages consumers have applied (docs/ring.md §7).
  uint32_t events_applied() const { return static_cast<uint32_t>(Load(kEventsApplied)); }
  int32_t pollers() const { return Load(kPollers); }

  // Slots not held by anyone right now (a snapshot: only grows while this
  // thread is the sole producer, which is how the reader sizes its read(2)).
  uint32_t FreeSlots() const {
    uint32_t used = static_cast<uint32_t>(Load(kEnqueue) - Load(kDequeue));
    return used >= capacity_ ? 0 : capacity_ - used;
  }

  // Pushes the longest prefix of whole messages of `words` (`records`
  // records) that fits, or with `all_or_nothing` only all of them, without
  // waking anyone. Returns records pushed: 0 when full (for the first message,
  // or for the whole batch with all_or_nothing) or closed.
  uint32_t TryPushSome(const uint32_t* words, uint32_t records, bool all_or_nothing = false) {
    if (closed()) return 0;
    for (;;) {
      int32_t pos = Load(kEnqueue);
      uint32_t fit = 0;  // records of whole messages whose slots are all free this lap
      bool stale = false;
      while (fit < records) {
        uint32_t n = MessageRecords(words[fit * kRecordWords]);
        if (fit + n > records) break;  // malformed tail: never push a split message
        bool all_free = true;
        for (uint32_t i = 0; i < n && all_free; i++) {
          int32_t p = Wrap(pos, fit + i);
          int32_t d = Diff(SeqLoad(p), p);
          if (d > 0) stale = true;  // another producer claimed pos: reload
          all_free = d == 0;        // d < 0: a consumer still holds the slot: full
        }
        if (!all_free) break;
        fit += n;
      }
      if (stale) continue;
      if (fit == 0 || (all_or_nothing && fit < records)) return 0;
      if (!Cas(kEnqueue, pos, Wrap(pos, fit))) continue;
      for (uint32_t i = 0; i < fit; i++) {
        std::memcpy(RecordAt(Wrap(pos, i)), words + i * kRecordWords, 16);
      }
      // Tail first, head last: a consumer that sees a head sees its whole message.
      for (uint32_t i = fit; i-- > 0;) {
        int32_t p = Wrap(pos, i);
        SeqStore(p, Wrap(p, 1));
      }
      return fit;
    }
  }

  // All-or-nothing push of one message (or several whole ones), then wakes
  // parked consumers. False when full or closed.
  bool TryPush(const uint32_t* words, uint32_t records) {
    if (TryPushSome(words, records, true) != records) return false;
    WakeConsumers(records);
    return true;
  }

  // Pushes all `records` (whole messages), waking consumers after each
  // published chunk. When full it waits and never drops: spins, then yields,
  // then sleeps 50 us; a push that had to wait counts one stall (word 56 and
  // *stalls). Returns kClosed if the ring closes before everything is pushed.
  PushResult Push(const uint32_t* words, uint32_t records, uint64_t* stalls = nullptr) {
    uint32_t done = 0;
    bool stalled = false;
    uint32_t attempt = 0;
    while (done < records) {
      uint32_t n = TryPushSome(words + done * kRecordWords, records - done);
      if (n > 0) {
        WakeConsumers(n);
        done += n;
        attempt = 0;
        continue;
      }
      if (closed()) return PushResult::kClosed;
      if (!stalled) {
        stalled = true;
        Add(kStalls, 1);
        if (stalls != nullptr) ++*stalls;
      }
      Backoff(attempt++);
    }
    return PushResult::kOk;
  }

  // One step of the full-ring wait: spin first (a consumer is usually
  // mid-copy), then yield, then sleep (on 2 cores the consumer may need ours).
  static void Backoff(uint32_t attempt) {
    if (attempt < 100) return;
    if (attempt < 300) {
      sched_yield();
      return;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }

  // Claims whole messages, up to `max_records` records, into `out` (4 words
  // each). Returns records taken, 0 when empty (or the next message is bigger
  // than max_records).
  uint32_t Take(uint32_t* out, uint32_t max_records) {
    for (;;) {
      int32_t pos = Load(kDequeue);
      uint32_t total = 0;
      bool stale = false;
      while (total < max_records) {
        int32_t p = Wrap(pos, total);
        int32_t d = Diff(SeqLoad(p), Wrap(p, 1));
        if (d < 0) break;
        if (d > 0) {
          stale = true;
          break;
        }
        uint32_t n = MessageRecords(RecordAt(p)[0]);
        if (total + n > max_records) break;
        bool whole = true;
        for (uint32_t i = 1; i < n; i++) {
          int32_t q = Wrap(p, i);
          if (SeqLoad(q) != Wrap(q, 1)) {
            whole = false;
            break;
          }
        }
        if (!whole) {
          stale = true;
          break;
        }
        total += n;
      }
      if (total == 0) {
        if (stale) continue;
        return 0;
      }
      if (!Cas(kDequeue, pos, Wrap(pos, total))) continue;
      for (uint32_t i = 0; i < total; i++) std::memcpy(out + i * kRecordWords, RecordAt(Wrap(pos, i)), 16);
      for (uint32_t i = 0; i < total; i++) {
        int32_t p = Wrap(pos, i);
        SeqStore(p, Wrap(p, capacity_));
      }
      return total;
    }
  }

  // After publishing `records` records: if anyone is parked, bump the wake
  // word and FUTEX_WAKE up to min(parked, records) of them (docs/ring.md §5).
  // Returns true if a wake call was made.
  bool WakeConsumers(uint32_t records) {
    int32_t parked = Load(kParked);
    if (parked <= 0) return false;
    Add(kWakeSeq, 1);
    FutexWake(std::min<uint32_t>(static_cast<uint32_t>(parked), records));
    Add(kWakeups, 1);
    return true;
  }

  // Sets closed and wakes every parked consumer.
  void Close() {
    Store(kClosed, 1);
    Add(kWakeSeq, 1);
    FutexWake(0x7fffffff);
    Add(kWakeups, 1);
  }

 private:
  static int32_t Wrap(int32_t pos, uint32_t delta) {
    return static_cast<int32_t>(static_cast<uint32_t>(pos) + delta);
  }
  static int32_t Diff(int32_t a, int32_t b) { return static_cast<int32_t>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b)); }

  int32_t Load(int word) const { return std::atomic_ref<int32_t>(base_[word]).load(); }
  void Store(int word, int32_t v) { std::atomic_ref<int32_t>(base_[word]).store(v); }
  void Add(int word, int32_t v) { std::atomic_ref<int32_t>(base_[word]).fetch_add(v); }
  bool Cas(int word, int32_t expected, int32_t desired) {
    return std::atomic_ref<int32_t>(base_[word]).compare_exchange_strong(expected, desired);
  }
  int32_t SeqLoad(int32_t pos) const { return std::atomic_ref<int32_t>(seq_[static_cast<uint32_t>(pos) & mask_]).load(); }
  void SeqStore(int32_t pos, int32_t v) { std::atomic_ref<int32_t>(seq_[static_cast<uint32_t>(pos) & mask_]).store(v); }
  uint32_t* RecordAt(int32_t pos) const { return records_ + (static_cast<uint32_t>(pos) & mask_) * kRecordWords; }

  void FutexWake(uint32_t count) {
    syscall(SYS_futex, &base_[kWakeSeq], FUTEX_WAKE_PRIVATE, static_cast<int>(std::min<uint32_t>(count, 0x7fffffff)),
            nullptr, nullptr, 0);
  }

  int32_t* base_;
  uint32_t capacity_;
  uint32_t mask_;
  int32_t* seq_;
  uint32_t* records_;
};

}  // namespace faultline::ring
