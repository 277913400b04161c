// makeErrnoError(errno, syscall?): the Node-shaped error every failed setup
// call of the main addon throws (errors.h), built on demand so tests can check
// its shape without provoking each failure.
#include <string>

#include "../errors.h"
#include "testing_init.h"

namespace faultline {

namespace {

Napi::Value MakeErrnoError(const Napi::CallbackInfo& info) {
  int err = static_cast<int>(ArgU64(info, 0, "errno"));
  std::string syscall = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "test";
  return ErrnoError(info.Env(), syscall.c_str(), err).Value();
}

}  // namespace

void InitErrnoError(Napi::Env env, Napi::Object exports) {
  exports.Set("makeErrnoError", Napi::Function::New(env, MakeErrnoError, "makeErrnoError"));
}

}  // namespace faultline
