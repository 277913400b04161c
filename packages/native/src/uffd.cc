// userfaultfd fds and ioctls, one binding per kernel operation, no policy.
//
// Two kinds of calls live here:
// - setup (create, api, probe, register, unregister, read, close, and
//   isUserfaultfd on an fd received from elsewhere): rare, they
//   throw Node-shaped errors with a hint that says how to fix the problem;
// - installs (copy, zeropage, wake, writeprotect, continue, poison, move): the
//   fault path. They never throw for a kernel outcome: they return bytes done,
//   or -errno when nothing was done, so the caller decides without paying for
//   an exception object per fault. Only bad arguments throw (TypeError).
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "args.h"
#include "errors.h"
#include "init.h"
#include "serve/copy_pages.h"
#include "sys/fd.h"
#include "uffd_constants.h"

namespace faultline {

namespace {

// JS numbers hold integers exactly up to 2^53. The ioctl masks the kernel
// returns carry _UFFDIO_API as bit 63, which a double cannot hold next to the
// low bits; that bit only says "UFFDIO_API exists", which a successful
// handshake already proved, so the masks we return keep bits 0..52.
constexpr uint64_t kJsExactBits = (uint64_t{1} << 53) - 1;

struct FeatureName {
  uint64_t bit;
  const char* name;
  const char* requirement;  // why a kernel may refuse it, or nullptr
};

constexpr FeatureName kFeatureNames[] = {
    {UFFD_FEATURE_PAGEFAULT_FLAG_WP, "PAGEFAULT_FLAG_WP", nullptr},
    {UFFD_FEATURE_EVENT_FORK, "EVENT_FORK", "needs CAP_SYS_PTRACE"},
    {UFFD_FEATURE_EVENT_REMAP, "EVENT_REMAP", nullptr},
    {UFFD_FEATURE_EVENT_REMOVE, "EVENT_REMOVE", nullptr},
    {UFFD_FEATURE_MISSING_HUGETLBFS, "MISSING_HUGETLBFS", nullptr},
    {UFFD_FEATURE_MISSING_SHMEM, "MISSING_SHMEM", nullptr},
    {UFFD_FEATURE_EVENT_UNMAP, "EVENT_UNMAP", nullptr},
    {UFFD_FEATURE_SIGBUS, "SIGBUS", nullptr},
    {UFFD_FEATURE_THREAD_ID, "THREAD_ID", nullptr},
    {UFFD_FEATURE_MINOR_HUGETLBFS, "MINOR_HUGETLBFS", nullptr},
    {UFFD_FEATURE_MINOR_SHMEM, "MINOR_SHMEM", "Linux 5.14+"},
    {UFFD_FEATURE_EXACT_ADDRESS, "EXACT_ADDRESS", nullptr},
    {UFFD_FEATURE_WP_HUGETLBFS_SHMEM, "WP_HUGETLBFS_SHMEM", nullptr},
    {UFFD_FEATURE_WP_UNPOPULATED, "WP_UNPOPULATED", "Linux 6.4+"},
    {UFFD_FEATURE_POISON, "POISON", "Linux 6.6+"},
    {UFFD_FEATURE_WP_ASYNC, "WP_ASYNC", "Linux 6.7+"},
    {UFFD_FEATURE_MOVE, "MOVE", "Linux 6.8+"},
};

// "EVENT_FORK (needs CAP_SYS_PTRACE), MINOR_SHMEM, bit 40"
std::string NameFeatures(uint64_t bits) {
  std::string out;
  for (const FeatureName& f : kFeatureNames) {
    if ((bits & f.bit) == 0) continue;
    bits &= ~f.bit;
    if (!out.empty()) out += ", ";
    out += f.name;
    if (f.requirement != nullptr) out += std::string(" (") + f.requirement + ")";
  }
  for (int i = 0; i < 64; i++) {
    if ((bits & (uint64_t{1} << i)) == 0) continue;
    if (!out.empty()) out += ", ";
    out += "unknown bit " + std::to_string(i);
  }
  return out;
}

std::string KernelRelease() {
  struct utsname u;
  return uname(&u) == 0 ? std::string(u.release) : std::string("unknown");
}

// userfaultfd(2), falling back to /dev/userfaultfd when the syscall is refused
// (EPERM: vm.unprivileged_userfaultfd=0 without CAP_SYS_PTRACE; ENOSYS: the
// syscall is filtered, e.g. by a seccomp profile). Returns the fd or -1 with
// *syscallErr / *deviceErr set (deviceErr 0 when the device was not tried).
int OpenUffd(int flags, int* syscallErr, int* deviceErr) {
  *deviceErr = 0;
  int fd = static_cast<int>(syscall(SYS_userfaultfd, flags));
  if (fd >= 0) return fd;
  *syscallErr = errno;
  if (*syscallErr != EPERM && *syscallErr != ENOSYS) return -1;
  int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
  if (dev < 0) {
    *deviceErr = errno;
    return -1;
  }
  // The device only hands out uffds; the new fd does not depend on it staying open.
  fd = ioctl(dev, USERFAULTFD_IOC_NEW, flags);
  *deviceErr = fd < 0 ? errno : 0;
  sys::CloseQuietly(dev);
  return fd;
}

struct CreateOptions {
  bool userModeOnly = false;
  bool nonBlocking = true;
};

bool OptionalBool(Napi::Object options, const char* key, bool fallback) {
  Napi::Value v = options.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw Napi::TypeError::New(options.Env(), std::string("options.") + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

CreateOptions ArgCreateOptions(const Napi::CallbackInfo& info, size_t index) {
  CreateOptions out;
  if (index >= info.Length() || info[index].IsUndefined()) return out;
  if (!info[index].IsObject()) throw Napi::TypeError::New(info.Env(), "options must be an object");
  Napi::Object options = info[index].As<Napi::Object>();
  out.userModeOnly = OptionalBool(options, "userModeOnly", false);
  out.nonBlocking = OptionalBool(options, "nonBlocking", true);
  return out;
}

int CreateOrThrow(Napi::Env env, const CreateOptions& options) {
  int flags = O_CLOEXEC | (options.nonBlocking ? O_NONBLOCK : 0) | (options.userModeOnly ? UFFD_USER_MODE_ONLY : 0);
  int syscallErr = 0, deviceErr = 0;
  int fd = OpenUffd(flags, &syscallErr, &deviceErr);
  if (fd >= 0) return fd;
  std::string hint;
  if (syscallErr == EPERM || syscallErr == ENOSYS) {
    hint = std::string("/dev/userfaultfd also failed: ") + strerror(deviceErr) +
           "; fix: sysctl vm.unprivileged_userfaultfd=1, grant this user read/write access to "
           "/dev/userfaultfd, or pass { userModeOnly: true }";
  }
  throw ErrnoError(env, "userfaultfd", syscallErr, hint);
}

// UFFDIO_API asking for nothing: the kernel answers with every feature and
// ioctl it offers. Returns false (errno set) on failure.
bool ProbeOffered(int fd, uffdio_api* api) {
  *api = uffdio_api{UFFD_API, 0, 0};
  return ioctl(fd, UFFDIO_API, api) == 0;
}

// Features offered, learnt on a throwaway fd; false when no fd could be had.
bool OfferedFeatures(uint64_t* features) {
  int syscallErr, deviceErr;
  int fd = OpenUffd(O_CLOEXEC | O_NONBLOCK, &syscallErr, &deviceErr);
  if (fd < 0) fd = OpenUffd(O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY, &syscallErr, &deviceErr);
  if (fd < 0) return false;
  uffdio_api api;
  bool ok = ProbeOffered(fd, &api);
  sys::CloseQuietly(fd);
  *features = api.features;
  return ok;
}

// Why UFFDIO_API refused `requested`, in words a user can act on.
std::string ApiHint(int err, uint64_t requested) {
  if (err == EPERM && (requested & UFFD_FEATURE_EVENT_FORK)) {
    return "EVENT_FORK needs CAP_SYS_PTRACE in the calling process; run privileged or drop EVENT_FORK";
  }
  if (err != EINVAL) return "";
  uint64_t offered = 0;
  if (!OfferedFeatures(&offered)) return "could not open a probe userfaultfd to find out which features are missing";
  uint64_t missing = requested & ~offered;
  if (missing != 0) {
    return "kernel " + KernelRelease() + " does not offer " + NameFeatures(missing) +
           "; ask only for features uffdProbe() reports";
  }
  return "UFFDIO_API may be called only once per userfaultfd and this fd already completed its handshake; "
         "open a new fd with uffdCreate() to ask for other features";
}

Napi::Object ApiResult(Napi::Env env, const uffdio_api& api) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("features", Napi::Number::New(env, static_cast<double>(api.features & kJsExactBits)));
  out.Set("ioctls", Napi::Number::New(env, static_cast<double>(api.ioctls & kJsExactBits)));
  return out;
}

// The hot-path return convention: `rc`/`err` from the ioctl, `done` from its
// output field. Full success reports `done` (=== len); a partial install comes
// back from the kernel as -1/EAGAIN with done > 0, and reports done; otherwise
// nothing happened and the answer is -errno.
inline Napi::Value Outcome(Napi::Env env, int rc, int err, int64_t done) {
  double v = rc == 0 || done > 0 ? static_cast<double>(done) : -static_cast<double>(err);
  return Napi::Number::New(env, v);
}

// ---------------------------------------------------------------- setup calls

Napi::Value UffdCreate(const Napi::CallbackInfo& info) {
  CreateOptions options = ArgCreateOptions(info, 0);
  return Napi::Number::New(info.Env(), CreateOrThrow(info.Env(), options));
}

Napi::Value UffdApi(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "fd");
  uint64_t features = ArgU64(info, 1, "features");
  uffdio_api api{UFFD_API, features, 0};
  if (ioctl(fd, UFFDIO_API, &api) != 0) {
    int err = errno;
    throw ErrnoError(info.Env(), "ioctl(UFFDIO_API)", err, ApiHint(err, features));
  }
  // The kernel answers with every feature it offers, but enables only the
  // requested ones (WP_ASYNC implies WP_UNPOPULATED): report what this fd has.
  if (features & UFFD_FEATURE_WP_ASYNC) features |= UFFD_FEATURE_WP_UNPOPULATED;
  api.features &= features;
  return ApiResult(info.Env(), api);
}

Napi::Value UffdProbe(const Napi::CallbackInfo& info) {
  CreateOptions options = ArgCreateOptions(info, 0);
  int fd = CreateOrThrow(info.Env(), options);
  uffdio_api api;
  bool ok = ProbeOffered(fd, &api);
  int err = errno;
  sys::CloseQuietly(fd);
  if (!ok) throw ErrnoError(info.Env(), "ioctl(UFFDIO_API)", err);
  return ApiResult(info.Env(), api);
}

const char* kRangeHint =
    "address and length must be page-aligned and cover mapped memory; MISSING needs anonymous, shmem or "
    "hugetlbfs memory, WP needs the PAGEFAULT_FLAG_WP feature, MINOR needs shmem/hugetlbfs and a MINOR_* "
    "feature, and the fd must have completed uffdApi()";

Napi::Value UffdRegister(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "fd");
  uffdio_register reg{};
  reg.range.start = ArgU64(info, 1, "address");
  reg.range.len = ArgU64(info, 2, "length");
  reg.mode = ArgU64(info, 3, "mode");
  if (ioctl(fd, UFFDIO_REGISTER, &reg) != 0) {
    int err = errno;
    std::string hint = err == EBUSY ? "the range is already registered with another userfaultfd"
                       : err == EINVAL ? kRangeHint
                                       : "";
    throw ErrnoError(info.Env(), "ioctl(UFFDIO_REGISTER)", err, hint);
  }
  return Napi::Number::New(info.Env(), static_cast<double>(reg.ioctls & kJsExactBits));
}

Napi::Value UffdUnregister(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "fd");
  uffdio_range range{ArgU64(info, 1, "address"), ArgU64(info, 2, "length")};
  if (ioctl(fd, UFFDIO_UNREGISTER, &range) != 0) {
    int err = errno;
    throw ErrnoError(info.Env(), "ioctl(UFFDIO_UNREGISTER)", err,
                     err == EINVAL ? "address and length must be page-aligned and cover mapped memory" : "");
  }
  return info.Env().Undefined();
}

Napi::Value UffdRead(const Napi::CallbackInfo& info) {
  int fd = FastFd(info, 0, "fd");
  ViewBytes out = ArgView(info, 1, "out");
  if (!out.isTypedArray || out.type != napi_uint8_array || out.length < sizeof(uffd_msg)) {
    throw Napi::TypeError::New(info.Env(), "out must be a Uint8Array of at least 32 bytes (one uffd_msg)");
  }
  size_t want = out.length / sizeof(uffd_msg) * sizeof(uffd_msg);
  ssize_t n = read(fd, out.data, want);
  if (n < 0) {
    int err = errno;
    // EAGAIN: nothing pending on a non-blocking fd. EINTR: a signal arrived
    // first; nothing was read either way, the caller polls again.
    if (err == EAGAIN || err == EINTR) return Napi::Number::New(info.Env(), 0);
    throw ErrnoError(info.Env(), "read", err,
                     err == EINVAL ? "call uffdApi() on this userfaultfd before reading it" : "");
  }
  return Napi::Number::New(info.Env(), static_cast<double>(n / sizeof(uffd_msg)));
}

// isUserfaultfd(fd): true when `fd` is a userfaultfd of any process (the
// anon inode's /proc link reads "anon_inode:[userfaultfd]").
Napi::Value IsUserfaultfd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0, "fd");
  struct stat st{};
  if (fstat(fd, &st) != 0) throw ErrnoError(env, "fstat", errno);
  char link[64];
  std::string procPath = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = readlink(procPath.c_str(), link, sizeof(link) - 1);
  if (n < 0) throw ErrnoError(env, "readlink", errno, "is /proc mounted?");
  link[n] = '\0';
  return Napi::Boolean::New(env, strcmp(link, "anon_inode:[userfaultfd]") == 0);
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0, "fd");
  // On Linux the fd is released even when close() reports EINTR: never retry.
  if (close(fd) != 0 && errno != EINTR) {
    int err = errno;
    throw ErrnoError(info.Env(), "close", err, err == EBADF ? "the fd is not open (closed twice?)" : "");
  }
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- installs (hot path)

Napi::Value UffdCopy(const Napi::CallbackInfo& info) {
  int fd = FastFd(info, 0, "fd");
  uint64_t dst = FastU64(info, 1, "dst");
  ViewBytes src = ArgView(info, 2, "src");
  uint64_t offset = FastU64(info, 3, "srcOffset");
  uint64_t length = FastU64(info, 4, "length");
  uint64_t mode = FastU64(info, 5, "mode");
  if (offset > src.length || length > src.length - offset) {
    throw Napi::TypeError::New(info.Env(), "srcOffset + length (" + std::to_string(offset) + " + " +
                                               std::to_string(length) + ") exceeds src's " +
                                               std::to_string(src.length) + " bytes");
  }
  uffdio_copy copy{dst, reinterpret_cast<uint64_t>(src.data + offset), length, mode, 0};
  int rc = ioctl(fd, UFFDIO_COPY, &copy);
  int err = errno;
  return Outcome(info.Env(), rc, err, copy.copy);
}

// uffdCopyPages(fd, dsts: Float64Array, count, src, srcOffset, pageSize, mode, out: Int32Array)
// installs `count` pages whose bytes lie one after another in `src` (from
// srcOffset) at the addresses in `dsts` (0: skip that page), one UFFDIO_COPY
// per run of consecutive addresses: a prefetch of thousands of pages in one
// call instead of one JS call per page. out[i]: 1 installed, 0 already there
// (EEXIST) or skipped, -errno failed (EAGAIN is retried a few times first).
// Returns the pages installed.
Napi::Value UffdCopyPages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FastFd(info, 0, "fd");
  ViewBytes dsts = ArgView(info, 1, "dsts");
  uint64_t count = FastU64(info, 2, "count");
  ViewBytes src = ArgView(info, 3, "src");
  uint64_t offset = FastU64(info, 4, "srcOffset");
  uint64_t ps = FastU64(info, 5, "pageSize");
  uint64_t mode = FastU64(info, 6, "mode");
  ViewBytes out = ArgView(info, 7, "out");
  if (dsts.type != napi_float64_array || out.type != napi_int32_array) {
    throw Napi::TypeError::New(env, "uffdCopyPages needs dsts: Float64Array and out: Int32Array");
  }
  if (ps == 0 || count > dsts.length / 8 || count > out.length / 4 || offset > src.length || count * ps > src.length - offset) {
    throw Napi::RangeError::New(env, "uffdCopyPages: count pages do not fit dsts, out or src");
  }
  uint64_t installed = serve::CopyPages(fd, reinterpret_cast<const double*>(dsts.data), count, src.data + offset, ps, mode,
                                        reinterpret_cast<int32_t*>(out.data));
  return Napi::Number::New(env, static_cast<double>(installed));
}

// COPY from a raw address and MOVE share one request shape:
// { dst, src, len, mode, out field }, taking (fd, dst, srcAddress, length, mode).
template <typename Request, unsigned long kIoctl, __s64 Request::*Done>
Napi::Value AddressInstall(const Napi::CallbackInfo& info) {
  int fd = FastFd(info, 0, "fd");
  Request request{};
  request.dst = FastU64(info, 1, "dst");
  request.src = FastU64(info, 2, "srcAddress");
  request.len = FastU64(info, 3, "length");
  request.mode = FastU64(info, 4, "mode");
  int rc = ioctl(fd, kIoctl, &request);
  int err = errno;
  return Outcome(info.Env(), rc, err, request.*Done);
}

// ZEROPAGE, WRITEPROTECT, CONTINUE and POISON share one request shape:
// { range, mode, [out field] }, taking (fd, address, length, mode) from JS.
// `Done` names the output field (bytes done or -errno); WRITEPROTECT has none.
template <typename Request, unsigned long kIoctl, __s64 Request::*Done = nullptr>
Napi::Value RangeInstall(const Napi::CallbackInfo& info) {
  int fd = FastFd(info, 0, "fd");
  Request request{};
  request.range.start = FastU64(info, 1, "address");
  request.range.len = FastU64(info, 2, "length");
  request.mode = FastU64(info, 3, "mode");
  int rc = ioctl(fd, kIoctl, &request);
  int err = errno;
  if constexpr (Done != nullptr) {
    return Outcome(info.Env(), rc, err, request.*Done);
  } else {
    return Outcome(info.Env(), rc, err, 0);
  }
}

Napi::Value UffdWake(const Napi::CallbackInfo& info) {
  int fd = FastFd(info, 0, "fd");
  uffdio_range range{FastU64(info, 1, "address"), FastU64(info, 2, "length")};
  int rc = ioctl(fd, UFFDIO_WAKE, &range);
  int err = errno;
  return Outcome(info.Env(), rc, err, 0);
}

// ---------------------------------------------------------------- constants

Napi::Object MakeConstants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  auto set = [&](const char* name, double value) { c.Set(name, Napi::Number::New(env, value)); };
  auto bit = [](int shift) { return static_cast<double>(uint64_t{1} << shift); };
  set("UFFD_API", UFFD_API);
  set("UFFD_USER_MODE_ONLY", UFFD_USER_MODE_ONLY);
  for (const FeatureName& f : kFeatureNames) {
    set((std::string("UFFD_FEATURE_") + f.name).c_str(), static_cast<double>(f.bit));
  }
  set("UFFDIO_REGISTER_MODE_MISSING", UFFDIO_REGISTER_MODE_MISSING);
  set("UFFDIO_REGISTER_MODE_WP", UFFDIO_REGISTER_MODE_WP);
  set("UFFDIO_REGISTER_MODE_MINOR", UFFDIO_REGISTER_MODE_MINOR);
  set("UFFDIO_COPY_MODE_DONTWAKE", UFFDIO_COPY_MODE_DONTWAKE);
  set("UFFDIO_COPY_MODE_WP", UFFDIO_COPY_MODE_WP);
  set("UFFDIO_ZEROPAGE_MODE_DONTWAKE", UFFDIO_ZEROPAGE_MODE_DONTWAKE);
  set("UFFDIO_WRITEPROTECT_MODE_WP", UFFDIO_WRITEPROTECT_MODE_WP);
  set("UFFDIO_WRITEPROTECT_MODE_DONTWAKE", UFFDIO_WRITEPROTECT_MODE_DONTWAKE);
  set("UFFDIO_CONTINUE_MODE_DONTWAKE", UFFDIO_CONTINUE_MODE_DONTWAKE);
  set("UFFDIO_CONTINUE_MODE_WP", UFFDIO_CONTINUE_MODE_WP);
  set("UFFDIO_POISON_MODE_DONTWAKE", UFFDIO_POISON_MODE_DONTWAKE);
  set("UFFDIO_MOVE_MODE_DONTWAKE", UFFDIO_MOVE_MODE_DONTWAKE);
  set("UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES", UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES);
  // UFFDIO_IOCTL_API is 2^63: exact as a lone number, but never present in the
  // masks returned to JS (see kJsExactBits). JS bitwise operators work on 32
  // bits; every range ioctl bit is below 9, so `mask & UFFDIO_IOCTL_COPY` works.
  set("UFFDIO_IOCTL_REGISTER", bit(_UFFDIO_REGISTER));
  set("UFFDIO_IOCTL_UNREGISTER", bit(_UFFDIO_UNREGISTER));
  set("UFFDIO_IOCTL_API", bit(_UFFDIO_API));
  set("UFFDIO_IOCTL_WAKE", bit(_UFFDIO_WAKE));
  set("UFFDIO_IOCTL_COPY", bit(_UFFDIO_COPY));
  set("UFFDIO_IOCTL_ZEROPAGE", bit(_UFFDIO_ZEROPAGE));
  set("UFFDIO_IOCTL_MOVE", bit(_UFFDIO_MOVE));
  set("UFFDIO_IOCTL_WRITEPROTECT", bit(_UFFDIO_WRITEPROTECT));
  set("UFFDIO_IOCTL_CONTINUE", bit(_UFFDIO_CONTINUE));
  set("UFFDIO_IOCTL_POISON", bit(_UFFDIO_POISON));
  set("UFFD_EVENT_PAGEFAULT", UFFD_EVENT_PAGEFAULT);
  set("UFFD_EVENT_FORK", UFFD_EVENT_FORK);
  set("UFFD_EVENT_REMAP", UFFD_EVENT_REMAP);
  set("UFFD_EVENT_REMOVE", UFFD_EVENT_REMOVE);
  set("UFFD_EVENT_UNMAP", UFFD_EVENT_UNMAP);
  set("UFFD_PAGEFAULT_FLAG_WRITE", UFFD_PAGEFAULT_FLAG_WRITE);
  set("UFFD_PAGEFAULT_FLAG_WP", UFFD_PAGEFAULT_FLAG_WP);
  set("UFFD_PAGEFAULT_FLAG_MINOR", UFFD_PAGEFAULT_FLAG_MINOR);
  set("MADV_DONTNEED", MADV_DONTNEED);
  set("MADV_REMOVE", MADV_REMOVE);
  set("MADV_HUGEPAGE", MADV_HUGEPAGE);
  set("MREMAP_MAYMOVE", MREMAP_MAYMOVE);
  set("MREMAP_FIXED", MREMAP_FIXED);
  set("MREMAP_DONTUNMAP", MREMAP_DONTUNMAP);
  set("EEXIST", EEXIST);
  set("EAGAIN", EAGAIN);
  set("ENOENT", ENOENT);
  set("ESRCH", ESRCH);
  set("EINVAL", EINVAL);
  set("EFAULT", EFAULT);
  set("ENOMEM", ENOMEM);
  set("EPERM", EPERM);
  c.Freeze();
  return c;
}

}  // namespace

void InitUffd(Napi::Env env, Napi::Object exports) {
  exports.Set("constants", MakeConstants(env));
  auto add = [&](const char* name, Napi::Function::Callback fn) {
    exports.Set(name, Napi::Function::New(env, fn, name));
  };
  add("uffdCreate", UffdCreate);
  add("uffdApi", UffdApi);
  add("uffdProbe", UffdProbe);
  add("uffdRegister", UffdRegister);
  add("uffdUnregister", UffdUnregister);
  add("uffdCopy", UffdCopy);
  add("uffdCopyPages", UffdCopyPages);
  add("uffdCopyFrom", AddressInstall<uffdio_copy, UFFDIO_COPY, &uffdio_copy::copy>);
  add("uffdZeropage", RangeInstall<uffdio_zeropage, UFFDIO_ZEROPAGE, &uffdio_zeropage::zeropage>);
  add("uffdWake", UffdWake);
  add("uffdWriteprotect", RangeInstall<uffdio_writeprotect, UFFDIO_WRITEPROTECT>);
  add("uffdContinue", RangeInstall<uffdio_continue, UFFDIO_CONTINUE, &uffdio_continue::mapped>);
  add("uffdPoison", RangeInstall<uffdio_poison, UFFDIO_POISON, &uffdio_poison::updated>);
  add("uffdMove", AddressInstall<uffdio_move, UFFDIO_MOVE, &uffdio_move::move>);
  add("uffdRead", UffdRead);
  add("closeFd", CloseFd);
  add("isUserfaultfd", IsUserfaultfd);
}

}  // namespace faultline
