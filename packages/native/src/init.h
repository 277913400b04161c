// Init hooks of the addon's modules (one per source file), called once per
// environment (main thread or worker) from addon.cc.
#pragma once
#include <napi.h>

namespace faultline {

void InitErrors(Napi::Env env, Napi::Object exports);   // errors.cc: errno -> Node-style errors
void InitUffd(Napi::Env env, Napi::Object exports);     // uffd.cc: userfaultfd fds and ioctls
void InitMemory(Napi::Env env, Napi::Object exports);   // memory.cc: mmap/memfd/madvise/mremap
void InitFutex(Napi::Env env, Napi::Object exports);    // futex.cc: wait/wake on SAB words
void InitRing(Napi::Env env, Napi::Object exports);     // ring_binding.cc: C++ ring producer (tests, bench)
void InitReader(Napi::Env env, Napi::Object exports);   // reader/reader_binding.cc: the uffd reader thread
void InitToucher(Napi::Env env, Napi::Object exports);  // toucher.cc: native faulting threads (bench)
void InitSocket(Napi::Env env, Napi::Object exports);   // socket.cc: Unix sockets with SCM_RIGHTS
void InitPattern(Napi::Env env, Napi::Object exports);     // pattern.cc: the pattern resolver's content, natively
void InitDirectPoll(Napi::Env env, Napi::Object exports);  // direct_poll.cc: where idle workers read uffds themselves

}  // namespace faultline
