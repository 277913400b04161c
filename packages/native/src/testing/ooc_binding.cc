// The out-of-core workload (ooc_workload.h) for Faultline's side of the
// bench's `out-of-core` group: the passes run in a native thread of their own
// (the same code the C reference runs on its workload thread), the file is
// written and checked synchronously (before and after the timed part).
//
// Why a dedicated thread per pass and not the libuv pool: while a pass runs
// its thread sits parked on faults for as long as the handler takes, and a
// resolver reading the file through libuv would need that pool (as in
// toucher.cc). The result reaches JS through a thread-safe function after the
// pass, never on the fault path.
#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include "../errors.h"
#include "ooc_workload.h"
#include "testing_init.h"

namespace faultline {

namespace {

using Deferred = Napi::Promise::Deferred;

struct PassOutcome {
  uint64_t elapsed_ns = 0;
};

void SettlePass(Napi::Env env, Napi::Function, Deferred* deferred, PassOutcome* outcome) {
  if (env != nullptr && deferred != nullptr) {
    Napi::Object r = Napi::Object::New(env);
    r.Set("elapsedNs", Napi::Number::New(env, static_cast<double>(outcome->elapsed_ns)));
    deferred->Resolve(r);
  }
  delete outcome;
}

using SettlePassFn = Napi::TypedThreadSafeFunction<Deferred, PassOutcome, SettlePass>;

// Runs `pass` on a new thread; the promise resolves with { elapsedNs } once it is done.
Napi::Value RunPass(Napi::Env env, const char* name, std::function<uint64_t()> pass) {
  auto* deferred = new Deferred(env);
  Napi::Promise promise = deferred->Promise();
  // The TSFN keeps the event loop alive until the pass has settled.
  SettlePassFn settle = SettlePassFn::New(env, name, 0, 1, deferred, [](Napi::Env, void*, Deferred* d) { delete d; });
  std::thread([settle, pass]() mutable {
    auto* outcome = new PassOutcome();
    outcome->elapsed_ns = pass();
    if (settle.BlockingCall(outcome) != napi_ok) delete outcome;  // environment gone
    settle.Release();
  }).detach();
  return promise;
}

uint64_t* ArrayAt(const Napi::CallbackInfo& info) {
  uint64_t address = ArgU64(info, 0, "address");
  if (address == 0 || address % 8 != 0) throw Napi::TypeError::New(info.Env(), "address must be a non-zero multiple of 8");
  return reinterpret_cast<uint64_t*>(static_cast<uintptr_t>(address));
}

uint64_t Elements(const Napi::CallbackInfo& info, size_t index) {
  uint64_t n = ArgU64(info, index, "elements");
  if (n == 0 || n > 0xffffffffull) throw Napi::TypeError::New(info.Env(), "elements must be 1..2^32-1");
  return n;
}

std::string Path(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "path must be a string");
  return info[0].As<Napi::String>().Utf8Value();
}

// oocStream(address, elements): a[i] = 3 * a[i] + 1 over the array at address.
Napi::Value OocStream(const Napi::CallbackInfo& info) {
  uint64_t* a = ArrayAt(info);
  uint64_t n = Elements(info, 1);
  return RunPass(info.Env(), "faultline.oocStream", [a, n]() { return ooc_stream(a, n); });
}

// oocRandom(address, elements, updates, seed): `updates` increments at splitmix64(seed) places.
Napi::Value OocRandom(const Napi::CallbackInfo& info) {
  uint64_t* a = ArrayAt(info);
  uint64_t n = Elements(info, 1);
  uint64_t updates = ArgU64(info, 2, "updates");
  uint64_t seed = ArgU64(info, 3, "seed");
  return RunPass(info.Env(), "faultline.oocRandom", [a, n, updates, seed]() { return ooc_random(a, n, updates, seed); });
}

// oocInitFile(path, elements): writes the initial file (element i = i).
Napi::Value OocInitFile(const Napi::CallbackInfo& info) {
  std::string path = Path(info);
  int err = ooc_init_file(path.c_str(), Elements(info, 1));
  if (err != 0) throw ErrnoError(info.Env(), "pwrite", err, "could not write the out-of-core array file " + path);
  return info.Env().Undefined();
}

// oocCheckFile(path, elements, updates, seed): how many elements of the file differ from what both passes leave.
Napi::Value OocCheckFile(const Napi::CallbackInfo& info) {
  std::string path = Path(info);
  int64_t wrong = ooc_check_file(path.c_str(), Elements(info, 1), ArgU64(info, 2, "updates"), ArgU64(info, 3, "seed"));
  if (wrong < 0) throw ErrnoError(info.Env(), "pread", static_cast<int>(-wrong), "could not read the out-of-core array file " + path);
  return Napi::Number::New(info.Env(), static_cast<double>(wrong));
}

}  // namespace

void InitOocWorkload(Napi::Env env, Napi::Object exports) {
  exports.Set("oocStream", Napi::Function::New(env, OocStream, "oocStream"));
  exports.Set("oocRandom", Napi::Function::New(env, OocRandom, "oocRandom"));
  exports.Set("oocInitFile", Napi::Function::New(env, OocInitFile, "oocInitFile"));
  exports.Set("oocCheckFile", Napi::Function::New(env, OocCheckFile, "oocCheckFile"));
}

}  // namespace faultline
