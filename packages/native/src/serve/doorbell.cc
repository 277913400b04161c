// The doorbell: how the main thread wakes a leader asleep in read(2) on the
// own uffd (serve/fault_waiter.cc, kModeRead). Nothing but a fault ends that
// read, so the handler registers one page of its own with the uffd and, to
// ring, has a thread of this module touch it. The leader answers that fault
// with a zero page, and the bell thread drops the page again (MADV_DONTNEED)
// so the next ring faults too.
//
// The touch is done by a native thread, never by the caller: if no leader is
// alive to answer, the toucher stays parked until the uffd is closed (the
// kernel then retries it as an ordinary fault and it returns), and the main
// thread is never the one left waiting.
//
// The page is this module's own mapping (not a SharedArrayBuffer), so the
// bell thread never touches memory a garbage collector could unmap; stop()
// leaves it mapped if the thread is still parked on it.
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

#include "../errors.h"
#include "../init.h"
#include "../sys/futex.h"

namespace faultline {

class Doorbell : public Napi::ObjectWrap<Doorbell> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Doorbell",
                       {InstanceMethod<&Doorbell::RingJs>("ring"), InstanceMethod<&Doorbell::StopJs>("stop"),
                        InstanceAccessor<&Doorbell::Address>("address"), InstanceAccessor<&Doorbell::Rings>("rings")});
  }

  // new Doorbell(): maps the page and starts the bell thread. Register
  // `address` (one page) with the uffd before ringing.
  explicit Doorbell(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Doorbell>(info) {
    page_size_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void* page = mmap(nullptr, page_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) throw ErrnoError(info.Env(), "mmap", errno);
    page_ = static_cast<volatile uint8_t*>(page);
    cleanup_ = info.Env().AddCleanupHook(std::function<void()>([this] { Stop(); }));
    thread_ = std::thread([this] { Run(); });
  }

  ~Doorbell() override { Stop(); }

 private:
  Napi::Value Address(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(page_)));
  }

  Napi::Value Rings(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(rings_.load()));
  }

  // ring(): the bell thread touches the page (soon). Rings while one is in
  // progress coalesce: the leader only needs to wake once to look around.
  Napi::Value RingJs(const Napi::CallbackInfo& info) {
    if (!stopped_) {
      requests_.fetch_add(1);
      sys::FutexWake(&requests_word(), 1);
    }
    return info.Env().Undefined();
  }

  // stop(): ends the bell thread. Call it after the uffd is closed (or the
  // page unregistered): a touch nobody answers returns only then.
  Napi::Value StopJs(const Napi::CallbackInfo& info) {
    bool was_running = !stopped_;
    Stop();
    if (was_running) cleanup_.Remove(info.Env());
    return info.Env().Undefined();
  }

  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    stop_.store(true);
    requests_.fetch_add(1);
    sys::FutexWake(&requests_word(), 1);
    if (touching_.load()) {
      // Parked on a fault nobody answers yet (the uffd is still open): let it
      // finish on its own and keep its page mapped for it.
      thread_.detach();
      return;
    }
    thread_.join();
    munmap(const_cast<uint8_t*>(page_), page_size_);
  }

  void Run() {
    int32_t served = 0;
    for (;;) {
      int32_t seen = requests_.load();
      if (stop_.load()) return;
      if (seen == served) {
        sys::FutexWait(&requests_word(), seen, nullptr);
        continue;
      }
      served = seen;
      touching_.store(true);
      if (stop_.load()) {
        touching_.store(false);
        return;
      }
      (void)page_[0];  // faults: the leader wakes and answers with a zero page
      madvise(const_cast<uint8_t*>(page_), page_size_, MADV_DONTNEED);  // missing again: the next ring faults
      touching_.store(false);
      rings_.fetch_add(1);
    }
  }

  int32_t& requests_word() { return *reinterpret_cast<int32_t*>(&requests_); }

  size_t page_size_ = 0;
  volatile uint8_t* page_ = nullptr;
  std::atomic<int32_t> requests_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> touching_{false};
  std::atomic<uint64_t> rings_{0};
  bool stopped_ = false;  // JS thread only
  Napi::Env::CleanupHook<std::function<void()>> cleanup_;
  std::thread thread_;
};

void InitDoorbell(Napi::Env env, Napi::Object exports) { exports.Set("Doorbell", Doorbell::Define(env)); }

}  // namespace faultline
