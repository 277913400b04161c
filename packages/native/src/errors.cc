#include "errors.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>

#include "sys/errno_name.h"

namespace faultline {

using sys::ErrnoName;

Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err, const std::string& hint) {
  std::string message = std::string(ErrnoName(err)) + ": " + strerror(err) + ", " + syscall;
  if (!hint.empty()) message += " (" + hint + ")";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, ErrnoName(err)));
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

Napi::Error CodedError(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

uint64_t ArgU64(const Napi::CallbackInfo& info, size_t index, const char* name) {
  Napi::Env env = info.Env();
  if (index >= info.Length() || !info[index].IsNumber()) {
    throw Napi::TypeError::New(env, std::string(name) + " must be a number");
  }
  double v = info[index].As<Napi::Number>().DoubleValue();
  if (!(v >= 0) || v > 9007199254740991.0 || std::floor(v) != v) {
    throw Napi::TypeError::New(env, std::string(name) + " must be a non-negative integer below 2^53");
  }
  return static_cast<uint64_t>(v);
}

int ArgFd(const Napi::CallbackInfo& info, size_t index, const char* name) {
  uint64_t v = ArgU64(info, index, name);
  if (v > 0x7fffffff) throw Napi::TypeError::New(info.Env(), std::string(name) + " is not a file descriptor");
  return static_cast<int>(v);
}

}  // namespace faultline
