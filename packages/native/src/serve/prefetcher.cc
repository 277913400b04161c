// The prefetch of a recorded working set whose pages a trace file carries
// (core/src/trace, handler/prefetches.ts): a native thread reads the pages in
// large sequential windows and installs them in recorded order, one
// UFFDIO_COPY per run of consecutive addresses, while the serve loops answer
// demand faults. Native because it races those faults from the very start: a
// JS worker spends tens of milliseconds starting up, by which time a restored
// process has faulted its first thousands of pages itself.
//
// Before each page the region table must still say the address is this
// region's, at the same resolver offset, and not discarded; else the page is
// not ours to fill (cancelled). A page already there (EEXIST: a demand fault
// won) is skipped. The main thread can stop it through `cancel` (word 0).
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/userfaultfd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include <napi.h>

#include "../args.h"
#include "../errors.h"
#include "../init.h"
#include "copy_pages.h"
#include "region_table.h"

namespace faultline {
namespace {

struct PrefetchResult {
  double installed = 0, already = 0, cancelled = 0, failed = 0, ms = 0;
  int err = 0;  // the first failure's errno (0: none)
};

struct PrefetchContext {
  Napi::Promise::Deferred deferred;
  Napi::ObjectReference keep_table;
  Napi::ObjectReference keep_cancel;
  explicit PrefetchContext(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

void Settle(Napi::Env env, Napi::Function, PrefetchContext* ctx, PrefetchResult* r) {
  if (env != nullptr && ctx != nullptr) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("installed", r->installed);
    o.Set("alreadyPresent", r->already);
    o.Set("cancelled", r->cancelled);
    o.Set("failed", r->failed);
    o.Set("ms", r->ms);
    o.Set("errno", r->err);
    ctx->deferred.Resolve(o);
  }
  delete r;
}

using SettleFn = Napi::TypedThreadSafeFunction<PrefetchContext, PrefetchResult, Settle>;

struct Job {
  int fd = -1;
  uint32_t uffd_id = 0;
  int region_id = 0;
  uint64_t address = 0;   // page 0 of the region
  uint64_t offset = 0;    // resolver offset of page 0
  uint64_t page_size = 4096;
  uint64_t mode = 0;      // UFFDIO_COPY mode (WP for write-tracked regions)
  int data_fd = -1;
  uint64_t data_offset = 0;
  std::vector<uint32_t> pages;
  serve::RegionTableView table;
  int32_t* cancel = nullptr;
};

// Windows of page data read at a time: small at first, so the first installs
// come within microseconds of the start (the restored process is faulting
// already), then doubling up to the largest for throughput.
constexpr uint64_t kFirstWindowBytes = 64ull << 10;
constexpr uint64_t kWindowBytes = 8ull << 20;

double NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

bool Cancelled(const Job& job) { return std::atomic_ref<int32_t>(*job.cancel).load(std::memory_order_relaxed) != 0; }

bool ServedHere(const Job& job, uint32_t page, uint64_t address) {
  serve::RegionEntry e;
  if (!job.table.Lookup(job.uffd_id, address, &e)) return false;
  return e.state == serve::kEntryRegion && e.region_id == job.region_id &&
         e.offset + (address - e.start) == job.offset + static_cast<uint64_t>(page) * job.page_size;
}

bool ReadFully(int fd, uint8_t* out, uint64_t length, uint64_t at, int* err) {
  uint64_t done = 0;
  while (done < length) {
    ssize_t n = pread(fd, out + done, length - done, static_cast<off_t>(at + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *err = n < 0 ? errno : ENODATA;
      return false;
    }
    done += static_cast<uint64_t>(n);
  }
  return true;
}

void Run(Job& job, PrefetchResult* r) {
  double t0 = NowMs();
  const uint64_t ps = job.page_size;
  const uint64_t most = std::max<uint64_t>(1, kWindowBytes / ps);
  uint64_t batch = std::max<uint64_t>(1, kFirstWindowBytes / ps);
  std::vector<uint64_t> dst(most);
  std::vector<int32_t> result(most);
  const uint64_t n = job.pages.size();
  // The page data mapped read-only: UFFDIO_COPY then copies straight from the
  // page cache (one copy per page instead of pread's two). Reading it into a
  // buffer is the fallback when it cannot be mapped.
  uint8_t* mapped = nullptr;
  if (n > 0) {
    void* m = mmap(nullptr, n * ps, PROT_READ, MAP_PRIVATE, job.data_fd, static_cast<off_t>(job.data_offset));
    if (m != MAP_FAILED) {
      mapped = static_cast<uint8_t*>(m);
      madvise(mapped, n * ps, MADV_SEQUENTIAL);
    }
  }
  std::vector<uint8_t> window(mapped != nullptr ? 0 : most * ps);
  for (uint64_t i = 0, m = 0; i < n; i += m, batch = std::min(most, batch * 2)) {
    if (Cancelled(job)) {
      r->cancelled += static_cast<double>(n - i);
      break;
    }
    m = std::min(batch, n - i);
    int err = 0;
    const uint8_t* bytes = mapped != nullptr ? mapped + i * ps : window.data();
    if (mapped != nullptr) {
      madvise(const_cast<uint8_t*>(bytes), m * ps, MADV_WILLNEED);  // read ahead of the copies
    } else if (!ReadFully(job.data_fd, window.data(), m * ps, job.data_offset + i * ps, &err)) {
      r->failed += static_cast<double>(n - i);  // the data ends early: the rest is served on demand
      if (r->err == 0) r->err = err;
      break;
    }
    for (uint64_t k = 0; k < m; k++) {
      uint32_t page = job.pages[i + k];
      uint64_t address = job.address + static_cast<uint64_t>(page) * ps;
      dst[k] = ServedHere(job, page, address) ? address : 0;
    }
    r->installed += static_cast<double>(serve::CopyPages(job.fd, dst.data(), m, bytes, ps, job.mode, result.data()));
    for (uint64_t k = 0; k < m; k++) {
      int32_t code = result[k];
      if (code == 1) continue;
      if (code == 0) {
        if (dst[k] == 0) r->cancelled++;  // not this region's any more: not ours to fill
        else r->already++;                // a demand fault installed it first
      } else if (code == -ENOENT || code == -ESRCH) {
        r->cancelled++;  // the range or the process is gone
      } else {
        r->failed++;
        if (r->err == 0) r->err = -code;
      }
    }
  }
  if (mapped != nullptr) munmap(mapped, n * ps);
  r->ms = NowMs() - t0;
}

double Number(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("prefetchPages: options.") + key + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

// prefetchPages({ fd, uffdId, regionId, address, offset, pageSize, mode, pages: Uint32Array,
//                 dataFd, dataOffset, regionTable: Uint8Array, cancel: Int32Array }) -> Promise
Napi::Value PrefetchPages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "prefetchPages(options) needs an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  Job job;
  job.fd = static_cast<int>(Number(o, "fd"));
  job.uffd_id = static_cast<uint32_t>(Number(o, "uffdId"));
  job.region_id = static_cast<int>(Number(o, "regionId"));
  job.address = static_cast<uint64_t>(Number(o, "address"));
  job.offset = static_cast<uint64_t>(Number(o, "offset"));
  job.page_size = static_cast<uint64_t>(Number(o, "pageSize"));
  job.mode = static_cast<uint64_t>(Number(o, "mode"));
  job.data_fd = static_cast<int>(Number(o, "dataFd"));
  job.data_offset = static_cast<uint64_t>(Number(o, "dataOffset"));
  ViewBytes pages, table, cancel;
  if (!GetViewBytes(env, o.Get("pages"), &pages) || pages.type != napi_uint32_array ||
      !GetViewBytes(env, o.Get("regionTable"), &table) || table.type != napi_uint8_array ||
      !GetViewBytes(env, o.Get("cancel"), &cancel) || cancel.type != napi_int32_array || cancel.length < 4) {
    throw Napi::TypeError::New(env, "prefetchPages: pages must be a Uint32Array, regionTable a Uint8Array, cancel an Int32Array");
  }
  if (job.page_size == 0 || (job.page_size & (job.page_size - 1)) != 0) throw Napi::RangeError::New(env, "prefetchPages: pageSize must be a power of two");
  const uint32_t* p = reinterpret_cast<const uint32_t*>(pages.data);
  job.pages.assign(p, p + pages.length / 4);
  job.table = serve::RegionTableView(table.data);
  job.cancel = reinterpret_cast<int32_t*>(cancel.data);

  auto* ctx = new PrefetchContext(env);
  ctx->keep_table = Napi::Persistent(o.Get("regionTable").As<Napi::Object>());
  ctx->keep_cancel = Napi::Persistent(o.Get("cancel").As<Napi::Object>());
  Napi::Promise promise = ctx->deferred.Promise();
  SettleFn settle = SettleFn::New(env, "faultline.prefetchPages", 0, 1, ctx, [](Napi::Env, void*, PrefetchContext* c) { delete c; });
  std::thread([settle, job = std::move(job)]() mutable {
    auto* r = new PrefetchResult();
    Run(job, r);
    if (settle.BlockingCall(r) != napi_ok) delete r;  // the environment is gone
    settle.Release();
  }).detach();
  return promise;
}

}  // namespace

void InitPrefetcher(Napi::Env env, Napi::Object exports) {
  exports.Set("prefetchPages", Napi::Function::New(env, PrefetchPages, "prefetchPages"));
}

}  // namespace faultline
