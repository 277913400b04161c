// touchPages: native threads that fault on a region, for the bench and tests.
// The touching itself lives in touch_core.h, shared with the C baseline
// handler so both sides of a comparison measure with the same loop.
//
// Why native threads and not JS: a JS loop would measure V8 as much as the
// fault handler. Why not the libuv pool (AsyncWorker): while touching, the
// threads sit parked on faults for as long as the handler takes; a resolver
// that reads files through libuv (fs.promises in a worker) needs that pool, so
// holding a pool slot could slow or even deadlock the very thing measured.
// One dedicated runner thread owns the touch and reports through a
// thread-safe function, which runs on the JS thread after the work is done
// (never on the fault path).
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include "../errors.h"
#include "testing_init.h"
#include "touch_core.h"

namespace faultline {

namespace {

struct TouchOutcome {
  int err = 0;
  touch_result result{};
};

// The promise's deferred lives in the TSFN context: created and settled on the
// JS thread, freed by the TSFN finalizer.
using Deferred = Napi::Promise::Deferred;

void Settle(Napi::Env env, Napi::Function, Deferred* deferred, TouchOutcome* outcome) {
  if (env != nullptr && deferred != nullptr) {
    if (outcome->err != 0) {
      deferred->Reject(ErrnoError(env, "touchPages", outcome->err,
                                  outcome->err == ENOMEM ? "not enough memory for the page order / latency samples"
                                                         : "could not start the touching threads")
                           .Value());
    } else {
      Napi::Object r = Napi::Object::New(env);
      r.Set("elapsedNs", Napi::Number::New(env, static_cast<double>(outcome->result.elapsed_ns)));
      r.Set("pages", Napi::Number::New(env, static_cast<double>(outcome->result.pages)));
      r.Set("p50Ns", Napi::Number::New(env, static_cast<double>(outcome->result.p50_ns)));
      r.Set("p99Ns", Napi::Number::New(env, static_cast<double>(outcome->result.p99_ns)));
      r.Set("checksum", Napi::BigInt::New(env, outcome->result.checksum));
      deferred->Resolve(r);
    }
  }
  delete outcome;
}

using SettleFn = Napi::TypedThreadSafeFunction<Deferred, TouchOutcome, Settle>;

uint64_t OptionU64(Napi::Env env, Napi::Object options, const char* key, uint64_t fallback, uint64_t max) {
  Napi::Value v = options.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("options.") + key + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > static_cast<double>(max) || static_cast<double>(static_cast<uint64_t>(d)) != d) {
    throw Napi::TypeError::New(env, std::string("options.") + key + " must be an integer in 0.." + std::to_string(max));
  }
  return static_cast<uint64_t>(d);
}

bool OptionBool(Napi::Env env, Napi::Object options, const char* key, bool fallback) {
  Napi::Value v = options.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw Napi::TypeError::New(env, std::string("options.") + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

touch_options ReadOptions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  touch_options o;
  std::memset(&o, 0, sizeof(o));
  o.page_size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  o.threads = 1;
  o.record_latencies = 1;
  if (info.Length() < 3 || info[2].IsUndefined()) return o;
  if (!info[2].IsObject()) throw Napi::TypeError::New(env, "options must be an object");
  Napi::Object options = info[2].As<Napi::Object>();
  o.page_size = OptionU64(env, options, "pageSize", o.page_size, 1ull << 30);
  if (o.page_size == 0 || (o.page_size & (o.page_size - 1)) != 0) {
    throw Napi::TypeError::New(env, "options.pageSize must be a power of two");
  }
  Napi::Value order = options.Get("order");
  if (!order.IsUndefined()) {
    std::string s = order.IsString() ? order.As<Napi::String>().Utf8Value() : "";
    if (s != "sequential" && s != "random") {
      throw Napi::TypeError::New(env, "options.order must be 'sequential' or 'random'");
    }
    o.random_order = s == "random";
  }
  o.threads = static_cast<int>(OptionU64(env, options, "threads", 1, TOUCH_MAX_THREADS));
  if (o.threads < 1) throw Napi::TypeError::New(env, "options.threads must be at least 1");
  o.write = OptionBool(env, options, "write", false);
  o.seed = OptionU64(env, options, "seed", 0, 9007199254740991ull);
  o.record_latencies = OptionBool(env, options, "latencies", true);
  return o;
}

Napi::Value TouchPages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t address = ArgU64(info, 0, "address");
  uint64_t length = ArgU64(info, 1, "length");
  touch_options options = ReadOptions(info);
  if (address % options.page_size != 0 || length == 0 || length % options.page_size != 0) {
    throw Napi::TypeError::New(env, "address must be page-aligned and length a non-zero multiple of the page size");
  }

  auto* deferred = new Deferred(env);
  Napi::Promise promise = deferred->Promise();
  // The TSFN keeps the event loop alive until the touch has settled: a
  // program awaiting touchPages does not exit with threads parked on faults.
  SettleFn settle = SettleFn::New(env, "faultline.touchPages", 0, 1, deferred,
                                  [](Napi::Env, void*, Deferred* d) { delete d; });
  // Detached: the runner ends by itself once the touch is done; nothing waits
  // on it (a join in the finalizer would block the JS thread).
  std::thread([settle, address, length, options]() mutable {
    auto* outcome = new TouchOutcome();
    outcome->err = touch_run(reinterpret_cast<void*>(static_cast<uintptr_t>(address)), length, &options,
                             &outcome->result);
    if (settle.BlockingCall(outcome) != napi_ok) delete outcome;  // environment gone
    settle.Release();
  }).detach();
  return promise;
}

}  // namespace

void InitToucher(Napi::Env env, Napi::Object exports) {
  exports.Set("touchPages", Napi::Function::New(env, TouchPages, "touchPages"));
}

}  // namespace faultline
