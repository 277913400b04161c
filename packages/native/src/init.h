// Init hooks of the addon's modules (one per source file), called once per
// environment (main thread or worker) from addon.cc.
#pragma once
#include <napi.h>

namespace faultline {

void InitUffd(Napi::Env env, Napi::Object exports);     // uffd.cc: userfaultfd fds and ioctls
void InitMemory(Napi::Env env, Napi::Object exports);   // memory.cc: mmap/memfd/madvise/mremap
void InitFutex(Napi::Env env, Napi::Object exports);    // futex.cc: wait/wake on SAB words
void InitReader(Napi::Env env, Napi::Object exports);   // reader/reader_binding.cc: the uffd reader thread
void InitSocket(Napi::Env env, Napi::Object exports);   // socket/unix_server.cc: Unix sockets with SCM_RIGHTS
void InitPattern(Napi::Env env, Napi::Object exports);     // pattern.cc: the pattern resolver's content, natively
void InitFaultWaiter(Napi::Env env, Napi::Object exports);  // serve/fault_waiter.cc: where serve loops wait for faults (leader/followers)
void InitDiagnostics(Napi::Env env, Napi::Object exports);  // diagnostics.cc: synchronous stderr
void InitDoorbell(Napi::Env env, Napi::Object exports);     // serve/doorbell.cc: wakes a leader asleep in read(2)
void InitPrefetcher(Napi::Env env, Napi::Object exports);   // serve/prefetcher.cc: a working set's pages from a trace file, natively
void InitPagemap(Napi::Env env, Napi::Object exports);      // pagemap.cc: PAGEMAP_SCAN (written pages, WP_ASYNC)
void InitEvictor(Napi::Env env, Napi::Object exports);      // evict/evictor_binding.cc: an evicting region's evictor, natively

}  // namespace faultline
