// writeStderr: a synchronous write(2) to fd 2. A worker thread's
// process.stderr is asynchronous (it goes through the main thread), so a line
// written just before its page is poisoned could be lost with the process
// that the SIGBUS kills; this one is out before the ioctl.
#include <unistd.h>

#include <cerrno>
#include <string>

#include "init.h"

namespace faultline {

namespace {

Napi::Value WriteStderr(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "text must be a string");
  std::string text = info[0].As<Napi::String>().Utf8Value();
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(STDERR_FILENO, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // nowhere to report a failure to report
    }
    done += static_cast<size_t>(n);
  }
  return info.Env().Undefined();
}

}  // namespace

void InitDiagnostics(Napi::Env env, Napi::Object exports) {
  exports.Set("writeStderr", Napi::Function::New(env, WriteStderr, "writeStderr"));
}

}  // namespace faultline
