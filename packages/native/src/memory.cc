// Mappings handed to JS as SharedArrayBuffers, plus raw mm syscalls
// (memfd_create, madvise, mremap, munmap) and small address helpers.
//
// Why SharedArrayBuffer: registered memory must be touchable from any worker
// (the faulting thread is often not the one that mapped it), and a SAB can be
// posted to workers without copying. Node 20's N-API cannot create one, so the
// buffer is built with the V8 API around our mmap'd memory.
#include <fcntl.h>
#include <linux/mman.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <v8.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "args.h"
#include "errors.h"
#include "init.h"
#include "sys/fd.h"

namespace faultline {

namespace {

// napi_value and v8::Local<v8::Value> are the same representation: a pointer
// to a handle slot in the current HandleScope. Node's own N-API implementation
// converts between them by copying that pointer (v8impl::V8LocalValueFromJsValue
// / JsValueFromV8LocalValue), and we do the same. Valid only inside a call,
// while the N-API handle scope that owns the slot is open.
static_assert(sizeof(napi_value) == sizeof(v8::Local<v8::Value>), "napi_value and v8::Local differ in size");

napi_value ToNapi(v8::Local<v8::Value> local) {
  napi_value out;
  std::memcpy(&out, &local, sizeof(out));
  return out;
}

// Runs when the last SharedArrayBuffer over the mapping, in any thread, has
// been collected: the memory goes back to the kernel only then, so no view can
// outlive it.
void UnmapBackingStore(void* data, size_t length, void* /*deleter_data*/) { munmap(data, length); }

size_t PageSize() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

uint64_t RoundUpToPage(uint64_t length) {
  uint64_t page = PageSize();
  return (length + page - 1) / page * page;
}

// { buffer: SharedArrayBuffer, address, length } owning `data`.
Napi::Object MappingObject(Napi::Env env, void* data, size_t length) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  std::unique_ptr<v8::BackingStore> store =
      v8::SharedArrayBuffer::NewBackingStore(data, length, UnmapBackingStore, nullptr);
  v8::Local<v8::SharedArrayBuffer> sab = v8::SharedArrayBuffer::New(isolate, std::move(store));
  Napi::Object out = Napi::Object::New(env);
  out.Set("buffer", Napi::Value(env, ToNapi(sab)));
  out.Set("address", Napi::Number::New(env, static_cast<double>(reinterpret_cast<uintptr_t>(data))));
  out.Set("length", Napi::Number::New(env, static_cast<double>(length)));
  return out;
}

// options[key] as a boolean (undefined -> fallback); TypeError otherwise.
bool OptionFlag(const Napi::CallbackInfo& info, size_t index, const char* key, bool fallback) {
  if (index >= info.Length() || info[index].IsUndefined()) return fallback;
  if (!info[index].IsObject()) throw Napi::TypeError::New(info.Env(), "options must be an object");
  Napi::Value v = info[index].As<Napi::Object>().Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw Napi::TypeError::New(info.Env(), std::string("options.") + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

uint64_t ArgLength(const Napi::CallbackInfo& info, size_t index) {
  uint64_t length = ArgU64(info, index, "length");
  if (length == 0) throw Napi::TypeError::New(info.Env(), "length must be greater than 0");
  return RoundUpToPage(length);
}

Napi::Value PageSizeBinding(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(PageSize()));
}

// options.hugePageSize: a hugetlbfs page size (a power of two, e.g. 2 MiB):
// the mapping's pages come from the kernel's reserved huge pages.
uint64_t HugePageSizeOption(const Napi::CallbackInfo& info, size_t index) {
  if (index >= info.Length() || !info[index].IsObject()) return 0;
  Napi::Value v = info[index].As<Napi::Object>().Get("hugePageSize");
  if (v.IsUndefined()) return 0;
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  uint64_t size = d > 0 ? static_cast<uint64_t>(d) : 0;
  if (size == 0 || static_cast<double>(size) != d || (size & (size - 1)) != 0) {
    throw Napi::TypeError::New(info.Env(), "options.hugePageSize must be a power of two (bytes)");
  }
  return size;
}

Napi::Value MapAnonymous(const Napi::CallbackInfo& info) {
  uint64_t huge = HugePageSizeOption(info, 1);
  uint64_t length = huge != 0 ? ArgU64(info, 0, "length") : ArgLength(info, 0);
  if (huge != 0 && (length == 0 || length % huge != 0)) {
    throw Napi::TypeError::New(info.Env(), "length must be a positive multiple of options.hugePageSize");
  }
  bool shared = OptionFlag(info, 1, "shared", false);
  int flags = (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS;
  if (huge != 0) flags |= MAP_HUGETLB | (__builtin_ctzll(huge) << MAP_HUGE_SHIFT);
  void* data = mmap(nullptr, length, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (data == MAP_FAILED) {
    int err = errno;
    throw ErrnoError(info.Env(), "mmap", err,
                     huge != 0 && err == ENOMEM
                         ? "not enough free huge pages of " + std::to_string(huge >> 10) + " KiB for " + std::to_string(length >> 20) +
                               " MiB: reserve them as root (echo N > /sys/kernel/mm/hugepages/hugepages-" + std::to_string(huge >> 10) +
                               "kB/nr_hugepages)"
                         : "");
  }
  return MappingObject(info.Env(), data, length);
}

Napi::Value MapFd(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "fd");
  uint64_t length = ArgLength(info, 1);
  uint64_t offset = ArgU64(info, 2, "offset");
  bool priv = OptionFlag(info, 3, "private", false);
  bool readOnly = OptionFlag(info, 3, "readOnly", false);
  int prot = readOnly ? PROT_READ : PROT_READ | PROT_WRITE;
  void* data = mmap(nullptr, length, prot, priv ? MAP_PRIVATE : MAP_SHARED, fd, static_cast<off_t>(offset));
  if (data == MAP_FAILED) {
    int err = errno;
    throw ErrnoError(info.Env(), "mmap", err,
                     err == EINVAL ? "offset must be a multiple of the page size" :
                     err == EACCES ? "the fd's open mode does not allow this protection (use readOnly or private)" : "");
  }
  return MappingObject(info.Env(), data, length);
}

Napi::Value MemfdCreate(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "name must be a string");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  uint64_t length = ArgU64(info, 1, "length");
  int fd = static_cast<int>(syscall(SYS_memfd_create, name.c_str(), MFD_CLOEXEC));
  if (fd < 0) throw ErrnoError(info.Env(), "memfd_create", errno);
  if (ftruncate(fd, static_cast<off_t>(length)) != 0) {
    int err = errno;
    sys::CloseQuietly(fd);  // never leak the fd of a half-made memfd
    throw ErrnoError(info.Env(), "ftruncate", err);
  }
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value Madvise(const Napi::CallbackInfo& info) {
  uint64_t address = ArgU64(info, 0, "address");
  uint64_t length = ArgU64(info, 1, "length");
  uint64_t advice = ArgU64(info, 2, "advice");
  if (madvise(reinterpret_cast<void*>(address), length, static_cast<int>(advice)) != 0) {
    int err = errno;
    throw ErrnoError(info.Env(), "madvise", err,
                     err == EINVAL ? "address must be page-aligned and the advice valid for this mapping" : "");
  }
  return info.Env().Undefined();
}

Napi::Value Mremap(const Napi::CallbackInfo& info) {
  uint64_t oldAddress = ArgU64(info, 0, "oldAddress");
  uint64_t oldLength = ArgU64(info, 1, "oldLength");
  uint64_t newLength = ArgU64(info, 2, "newLength");
  uint64_t flags = ArgU64(info, 3, "flags");
  uint64_t newAddress = info.Length() > 4 && !info[4].IsUndefined() ? ArgU64(info, 4, "newAddress") : 0;
  void* moved = mremap(reinterpret_cast<void*>(oldAddress), oldLength, newLength, static_cast<int>(flags),
                       reinterpret_cast<void*>(newAddress));
  if (moved == MAP_FAILED) throw ErrnoError(info.Env(), "mremap", errno);
  return Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(moved)));
}

Napi::Value Munmap(const Napi::CallbackInfo& info) {
  uint64_t address = ArgU64(info, 0, "address");
  uint64_t length = ArgU64(info, 1, "length");
  if (munmap(reinterpret_cast<void*>(address), length) != 0) throw ErrnoError(info.Env(), "munmap", errno);
  return info.Env().Undefined();
}

Napi::Value ViewAddress(const Napi::CallbackInfo& info) {
  ViewBytes view = ArgView(info, 0, "view");
  return Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(view.data)));
}

Napi::Value Gettid(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(syscall(SYS_gettid)));
}

}  // namespace

void InitMemory(Napi::Env env, Napi::Object exports) {
  auto add = [&](const char* name, Napi::Function::Callback fn) {
    exports.Set(name, Napi::Function::New(env, fn, name));
  };
  add("pageSize", PageSizeBinding);
  add("mapAnonymous", MapAnonymous);
  add("mapFd", MapFd);
  add("memfdCreate", MemfdCreate);
  add("madvise", Madvise);
  add("mremap", Mremap);
  add("munmap", Munmap);
  add("viewAddress", ViewAddress);
  add("gettid", Gettid);
}

}  // namespace faultline
