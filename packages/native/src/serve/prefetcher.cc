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
//
// The plan is shared with the serve loops (prefetch_plan.h): a demand fault
// on a plan page installs it and the plan's next pages, each plan position
// claimed once by whoever installs it, so the thread and the faults never
// copy a page twice.
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/userfaultfd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <cstdint>
#include <thread>
#include <vector>

#include <napi.h>

#include "../args.h"
#include "../errors.h"
#include "../init.h"
#include "prefetch_plan.h"
#include "region_table.h"

namespace faultline {

// The registry of running plans (prefetch_plan.h). Never freed: detached
// prefetch threads may still be taking their plan off it while the process exits.
namespace serve::plans {
namespace {
struct Registry {
  std::mutex mutex;
  std::vector<std::shared_ptr<PrefetchPlan>> running;
  std::atomic<int32_t> count{0};
};
Registry& registry() {
  static Registry* r = new Registry();
  return *r;
}
}  // namespace

void Add(const std::shared_ptr<PrefetchPlan>& plan) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.running.push_back(plan);
  r.count.store(static_cast<int32_t>(r.running.size()), std::memory_order_release);
}

void Remove(const PrefetchPlan* plan) {
  Registry& r = registry();
  std::shared_ptr<PrefetchPlan> held;
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = std::find_if(r.running.begin(), r.running.end(), [plan](const auto& p) { return p.get() == plan; });
    if (it == r.running.end()) return;
    held = *it;
    r.running.erase(it);
    r.count.store(static_cast<int32_t>(r.running.size()), std::memory_order_release);
  }
  // Uses are taken under the lock, so none starts past here; the ones in
  // progress are one fault's window each (tens of microseconds).
  while (held->users().load(std::memory_order_acquire) != 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
}

bool AnyRunning() { return registry().count.load(std::memory_order_relaxed) != 0; }

Use::Use(uint32_t uffd_id, int region_id) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  for (const auto& p : r.running) {
    if (p->uffd_id() == uffd_id && p->region_id() == region_id) {
      plan_ = p;
      plan_->users().fetch_add(1, std::memory_order_acq_rel);
      return;
    }
  }
}

Use::~Use() {
  if (plan_) plan_->users().fetch_sub(1, std::memory_order_acq_rel);
}
}  // namespace serve::plans

namespace {

struct PrefetchResult {
  double installed = 0, already = 0, cancelled = 0, failed = 0, ms = 0;
  double on_faults = 0;  // of `installed`: pages demand faults installed from the plan past their own (their windows)
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
    o.Set("installedOnFaults", r->on_faults);
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
  std::shared_ptr<serve::PrefetchPlan> plan;  // null: the page data could not be mapped (map_errno says why)
  int map_errno = 0;
  uint64_t pages = 0;
  serve::RegionTableView table;
};

// Windows of page data asked to be read ahead at a time: small at first, so
// the first installs come within microseconds of the start (the restored
// process is faulting already), then doubling up to the largest.
constexpr uint64_t kFirstWindowBytes = 64ull << 10;
constexpr uint64_t kWindowBytes = 8ull << 20;
// Plan positions claimed at a time, then installed: claims run at most this
// far ahead of installs, so a demand fault just ahead of the thread still
// finds unclaimed pages to take into its window.
constexpr uint64_t kClaimBatch = 16;
static_assert(kClaimBatch <= serve::PrefetchPlan::kFaultWindow, "InstallPositions takes at most kFaultWindow positions");

double NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// The rest of a cancelled plan: positions nobody claimed yet are cancelled (claimed now, so no fault window takes them).
void CancelRest(serve::PrefetchPlan& plan, uint64_t from, PrefetchResult* r) {
  for (uint64_t i = from; i < plan.size(); i++) {
    if (plan.Claim(i)) r->cancelled++;
  }
}

void Install(Job& job, serve::PrefetchPlan& plan, PrefetchResult* r) {
  const uint64_t ps = plan.page_size();
  const uint64_t n = plan.size();
  const uint64_t most = std::max<uint64_t>(1, kWindowBytes / ps);
  uint64_t window = std::max<uint64_t>(1, kFirstWindowBytes / ps);
  for (uint64_t i = 0, m = 0; i < n; i += m, window = std::min(most, window * 2)) {
    m = std::min(window, n - i);
    plan.MapData(i, m);  // the window's page data mapped ahead of its copies
    for (uint64_t k = i; k < i + m; k += kClaimBatch) {
      if (plan.Cancelled()) return CancelRest(plan, k, r);
      serve::PrefetchPlan::Tally t = plan.InstallPositions(job.fd, job.table, k, std::min(kClaimBatch, i + m - k));
      r->installed += static_cast<double>(t.installed);
      r->already += static_cast<double>(t.already);
      r->cancelled += static_cast<double>(t.cancelled);
      r->failed += static_cast<double>(t.failed);
      if (r->err == 0) r->err = t.first_errno;
    }
  }
}

void Run(Job& job, PrefetchResult* r) {
  double t0 = NowMs();
  if (!job.plan) {
    r->failed = static_cast<double>(job.pages);  // the page data cannot be read: the working set is served on demand
    r->err = job.map_errno;
  } else {
    serve::PrefetchPlan& plan = *job.plan;
    Install(job, plan, r);
    serve::plans::Remove(&plan);  // no demand fault uses it past here: its counts are final
    serve::PrefetchPlan::FaultCounts& f = plan.fault_counts();
    r->installed += static_cast<double>(f.installed.load());
    r->on_faults = static_cast<double>(f.installed.load());
    r->already += static_cast<double>(f.already.load());
    r->cancelled += static_cast<double>(f.cancelled.load());
    r->failed += static_cast<double>(f.failed.load());
  }
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
  ViewBytes pages, table, cancel;
  if (!GetViewBytes(env, o.Get("pages"), &pages) || pages.type != napi_uint32_array ||
      !GetViewBytes(env, o.Get("regionTable"), &table) || table.type != napi_uint8_array ||
      !GetViewBytes(env, o.Get("cancel"), &cancel) || cancel.type != napi_int32_array || cancel.length < 4) {
    throw Napi::TypeError::New(env, "prefetchPages: pages must be a Uint32Array, regionTable a Uint8Array, cancel an Int32Array");
  }
  uint64_t page_size = static_cast<uint64_t>(Number(o, "pageSize"));
  if (page_size == 0 || (page_size & (page_size - 1)) != 0) throw Napi::RangeError::New(env, "prefetchPages: pageSize must be a power of two");
  int data_fd = static_cast<int>(Number(o, "dataFd"));
  uint64_t data_offset = static_cast<uint64_t>(Number(o, "dataOffset"));
  const uint32_t* p = reinterpret_cast<const uint32_t*>(pages.data);
  std::vector<uint32_t> list(p, p + pages.length / 4);
  job.pages = list.size();
  job.table = serve::RegionTableView(table.data);
  // The page data mapped read-only: UFFDIO_COPY copies straight from the
  // page cache (one copy per page instead of pread's two), and demand faults
  // copy from the same mapping. Mapped here, before the promise is returned,
  // so the plan is on the list before anything can fault on it.
  const uint8_t* data = nullptr;
  if (!list.empty()) {
    void* m = mmap(nullptr, list.size() * page_size, PROT_READ, MAP_PRIVATE, data_fd, static_cast<off_t>(data_offset));
    if (m == MAP_FAILED) job.map_errno = errno;
    else data = static_cast<const uint8_t*>(m);
  }
  if (list.empty() || data != nullptr) {
    job.plan = std::make_shared<serve::PrefetchPlan>(static_cast<uint32_t>(Number(o, "uffdId")), static_cast<int>(Number(o, "regionId")),
                                                     static_cast<uint64_t>(Number(o, "address")), static_cast<uint64_t>(Number(o, "offset")),
                                                     page_size, static_cast<uint64_t>(Number(o, "mode")), std::move(list), data,
                                                     job.pages * page_size, reinterpret_cast<int32_t*>(cancel.data));
  }

  auto* ctx = new PrefetchContext(env);
  ctx->keep_table = Napi::Persistent(o.Get("regionTable").As<Napi::Object>());
  ctx->keep_cancel = Napi::Persistent(o.Get("cancel").As<Napi::Object>());
  Napi::Promise promise = ctx->deferred.Promise();
  SettleFn settle = SettleFn::New(env, "faultline.prefetchPages", 0, 1, ctx, [](Napi::Env, void*, PrefetchContext* c) { delete c; });
  if (job.plan) serve::plans::Add(job.plan);  // from here demand faults of the region take windows of the plan
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
