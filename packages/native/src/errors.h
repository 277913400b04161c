// Node-shaped system errors: `code` ('EINVAL'), `errno` (-22), `syscall`
// ('ioctl(UFFDIO_API)'), and a message that says what to do about it.
#pragma once
#include <napi.h>

#include <string>

namespace faultline {

// Builds an Error like Node's own system errors. `hint` is appended to the
// message: tell the user the fix, not only the failure.
Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err, const std::string& hint = "");

// Builds an Error with a Faultline code (ERR_FAULTLINE_*), for misuse that is
// not a failed system call (bad arguments, wrong state).
Napi::Error CodedError(Napi::Env env, const char* code, const std::string& message);

// Argument readers that throw a TypeError naming the argument on bad input.
// Addresses and lengths travel as JS numbers: x86-64/arm64 user addresses are
// below 2^53, so a double holds them exactly and no BigInt is allocated per fault.
uint64_t ArgU64(const Napi::CallbackInfo& info, size_t index, const char* name);
int ArgFd(const Napi::CallbackInfo& info, size_t index, const char* name);

}  // namespace faultline
