// new NativeEvictor(options, onReport): the native evictor of one region
// (evictor_core.h has the policy) on a thread of its own. JS hears from it
// through a thread-safe function that the thread calls without waiting
// (flush done, a writeback that failed, stopped): nothing on the fault path
// waits for the main thread.
//
// Lifetime: the object owns the staging buffer (its own mapping, registered
// on the uffd here, unregistered at close()) and keeps the marker's and the
// counters' buffers alive. stop() asks the thread to end after the run in
// progress (it reports 'stopped'); close() then joins it and lets go of
// everything. An environment that goes away stops and joins it first.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>

#include <napi.h>

#include "../args.h"
#include "../errors.h"
#include "../init.h"
#include "../sys/errno_name.h"
#include "../uffd_constants.h"
#include "evictor_core.h"

namespace faultline {
namespace {

using evict::EvictorReport;

void CallReport(Napi::Env env, Napi::Function fn, std::nullptr_t*, EvictorReport* r) {
  if (env != nullptr && fn != nullptr) {
    static const char* kinds[] = {"flushed", "writeback-failed", "stopped"};
    Napi::Object o = Napi::Object::New(env);
    o.Set("type", kinds[r->kind]);
    o.Set("seq", static_cast<double>(r->seq));
    o.Set("first", static_cast<double>(r->first));
    o.Set("pages", static_cast<double>(r->n));
    if (r->err != 0) {
      o.Set("code", sys::ErrnoName(r->err));
      o.Set("errno", -r->err);
      o.Set("syscall", r->syscall);
    }
    fn.Call({o});
  }
  delete r;
}

using ReportFn = Napi::TypedThreadSafeFunction<std::nullptr_t, EvictorReport, CallReport>;

double Number(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("NativeEvictor: options.") + key + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

ViewBytes Int32View(Napi::Object o, const char* key, size_t min_words) {
  ViewBytes v;
  if (!GetViewBytes(o.Env(), o.Get(key), &v) || v.type != napi_int32_array || v.length < min_words * 4) {
    throw Napi::TypeError::New(o.Env(), std::string("NativeEvictor: options.") + key + " must be an Int32Array of at least " +
                                            std::to_string(min_words) + " elements");
  }
  return v;
}

class NativeEvictor : public Napi::ObjectWrap<NativeEvictor> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeEvictor",
                       {InstanceMethod<&NativeEvictor::FlushJs>("flush"), InstanceMethod<&NativeEvictor::StopJs>("stop"),
                        InstanceMethod<&NativeEvictor::CloseJs>("close"), InstanceMethod<&NativeEvictor::StatsJs>("stats")});
  }

  // new NativeEvictor({ uffdFd, address, size, pageSize, maxPages, targetPages, runPages, intervalMs,
  //                     fileFd, fileBase, marker: Int32Array, stats: Int32Array, installedIndex }, onReport)
  explicit NativeEvictor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeEvictor>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      throw Napi::TypeError::New(env, "new NativeEvictor(options, onReport) needs an options object and a function");
    }
    Napi::Object o = info[0].As<Napi::Object>();
    evict::EvictorConfig c;
    c.uffd = static_cast<int>(Number(o, "uffdFd"));
    c.address = static_cast<uint64_t>(Number(o, "address"));
    c.page_size = static_cast<uint64_t>(Number(o, "pageSize"));
    if (c.page_size == 0 || (c.page_size & (c.page_size - 1)) != 0) throw Napi::RangeError::New(env, "NativeEvictor: pageSize must be a power of two");
    c.pages = static_cast<uint64_t>(Number(o, "size")) / c.page_size;
    c.max_pages = static_cast<uint64_t>(Number(o, "maxPages"));
    c.target_pages = static_cast<uint64_t>(Number(o, "targetPages"));
    c.run_pages = static_cast<uint64_t>(Number(o, "runPages"));
    c.interval_ms = static_cast<int64_t>(Number(o, "intervalMs"));
    c.file_fd = static_cast<int>(Number(o, "fileFd"));
    c.file_base = static_cast<uint64_t>(Number(o, "fileBase"));
    if (c.pages == 0 || c.run_pages == 0 || c.target_pages >= c.max_pages) {
      throw Napi::RangeError::New(env, "NativeEvictor: needs size >= pageSize, runPages > 0 and targetPages < maxPages");
    }
    ViewBytes marker = Int32View(o, "marker", evict::kMarkerWords);
    c.marker = reinterpret_cast<int32_t*>(marker.data);
    uint64_t installed_index = static_cast<uint64_t>(Number(o, "installedIndex"));
    ViewBytes stats = Int32View(o, "stats", installed_index + 1);
    c.installed = reinterpret_cast<int32_t*>(stats.data) + installed_index;
    keep_marker_ = Napi::Persistent(o.Get("marker").As<Napi::Object>());
    keep_stats_ = Napi::Persistent(o.Get("stats").As<Napi::Object>());

    staging_bytes_ = c.run_pages * c.page_size;
    void* staging = mmap(nullptr, staging_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (staging == MAP_FAILED) throw ErrnoError(env, "mmap", errno);
    c.staging = static_cast<uint8_t*>(staging);
    uffd_ = c.uffd;
    // UFFDIO_MOVE's destination must be registered on the same uffd.
    uffdio_register reg{};
    reg.range = {reinterpret_cast<uint64_t>(staging), staging_bytes_};
    reg.mode = UFFDIO_REGISTER_MODE_MISSING;
    if (ioctl(c.uffd, UFFDIO_REGISTER, &reg) != 0) {
      int err = errno;
      munmap(staging, staging_bytes_);
      throw ErrnoError(env, "ioctl(UFFDIO_REGISTER)", err, "the staging buffer must be registered on the region's uffd");
    }
    staging_ = c.staging;
    pagemap_ = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (pagemap_ < 0) {
      int err = errno;
      Unregister(staging_);
      munmap(staging, staging_bytes_);
      throw ErrnoError(env, "open(/proc/self/pagemap)", err);
    }
    c.pagemap_fd = pagemap_;

    report_ = ReportFn::New(env, info[1].As<Napi::Function>(), "faultline.evictor", 0, 1, nullptr);
    // Not a reason to keep the process alive on its own (the JS evictor thread is unref'd too).
    report_.Unref(env);
    ReportFn report = report_;
    core_ = std::make_unique<evict::EvictorCore>(c, [report](const EvictorReport& r) mutable {
      auto* copy = new EvictorReport(r);
      if (report.NonBlockingCall(copy) != napi_ok) delete copy;  // the environment is going away
    });
    // After the thread-safe function: cleanup hooks run last-added first, so the thread is joined before it goes.
    cleanup_ = env.AddCleanupHook(std::function<void()>([this] { Close(); }));
    thread_ = std::thread([this] {
      core_->Run();
      report_.Release();
    });
  }

  ~NativeEvictor() override { Close(); }

 private:
  Napi::Value FlushJs(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), closed_ ? 0 : core_->RequestFlush());
  }

  Napi::Value StopJs(const Napi::CallbackInfo& info) {
    if (!closed_) core_->Stop();
    return info.Env().Undefined();
  }

  Napi::Value CloseJs(const Napi::CallbackInfo& info) {
    bool was_open = !closed_;
    Close();
    if (was_open) cleanup_.Remove(info.Env());
    return info.Env().Undefined();
  }

  Napi::Value StatsJs(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("evicted", static_cast<double>(core_->evicted()));
    o.Set("writtenBack", static_cast<double>(core_->written_back()));
    o.Set("passes", static_cast<double>(core_->passes()));
    o.Set("maxResidentSeen", static_cast<double>(core_->max_resident_seen()));
    return o;
  }

  // Ends the thread (after its run in progress), then lets go of the staging buffer and the pagemap fd.
  void Close() {
    if (closed_) return;
    closed_ = true;
    core_->Stop();
    thread_.join();
    Unregister(staging_);  // fails harmlessly once the uffd is closed (that unregistered it)
    munmap(staging_, staging_bytes_);
    close(pagemap_);
  }

  void Unregister(uint8_t* staging) {
    uffdio_range range{reinterpret_cast<uint64_t>(staging), staging_bytes_};
    ioctl(uffd_, UFFDIO_UNREGISTER, &range);
  }

  std::unique_ptr<evict::EvictorCore> core_;
  ReportFn report_;
  std::thread thread_;
  Napi::Env::CleanupHook<std::function<void()>> cleanup_;
  Napi::ObjectReference keep_marker_, keep_stats_;
  uint8_t* staging_ = nullptr;
  uint64_t staging_bytes_ = 0;
  int uffd_ = -1;
  int pagemap_ = -1;
  bool closed_ = false;
};

}  // namespace

void InitEvictor(Napi::Env env, Napi::Object exports) { exports.Set("NativeEvictor", NativeEvictor::Define(env)); }

}  // namespace faultline
