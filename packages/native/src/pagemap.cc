// PAGEMAP_SCAN (Linux 6.7+): which pages of a range were written since they
// were last write-protected, for write tracking with UFFD_FEATURE_WP_ASYNC.
// With WP_ASYNC a write to a write-protected page in a WP-registered range
// is resolved by the kernel itself (no fault message): it lifts the
// protection and the page counts as "written" until protected again. One
// ioctl on /proc/self/pagemap lists the written ranges and, with
// PM_SCAN_WP_MATCHING, protects them again in the same walk (an atomic read
// and reset). Its ABI: sys/pagemap_scan.h.
#include <errno.h>
#include <sys/ioctl.h>

#include <cstdint>
#include <vector>

#include <napi.h>

#include "errors.h"
#include "init.h"
#include "sys/pagemap_scan.h"

namespace faultline {
namespace {

using sys::kCheckWpAsync;
using sys::kPageIsPresent;
using sys::kPageIsWritten;
using sys::kPagemapScan;
using sys::kWpMatching;
using sys::PageRegion;
using sys::PmScanArg;

constexpr size_t kVecLen = 512;

// One PAGEMAP_SCAN walk over [start, end), continued until the whole range
// is walked: the ranges whose categories match, as [start, end) pairs in
// address order (adjacent ones merged).
std::vector<double> Scan(Napi::Env env, int fd, uint64_t start, uint64_t end, uint64_t flags, uint64_t category_mask) {
  std::vector<PageRegion> vec(kVecLen);
  std::vector<double> out;
  uint64_t at = start;
  while (at < end) {
    PmScanArg arg{};
    arg.size = sizeof(arg);
    arg.flags = flags;
    arg.start = at;
    arg.end = end;
    arg.vec = reinterpret_cast<uint64_t>(vec.data());
    arg.vec_len = vec.size();
    arg.category_mask = category_mask;
    arg.return_mask = category_mask;
    long n = ioctl(fd, kPagemapScan, &arg);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ErrnoError(env, "ioctl(PAGEMAP_SCAN)", errno,
                       errno == EOPNOTSUPP ? "the range is not registered for write protection with UFFD_FEATURE_WP_ASYNC" : "");
    }
    for (long i = 0; i < n; i++) {
      if (!out.empty() && out.back() == static_cast<double>(vec[i].start)) {
        out.back() = static_cast<double>(vec[i].end);
      } else {
        out.push_back(static_cast<double>(vec[i].start));
        out.push_back(static_cast<double>(vec[i].end));
      }
    }
    if (arg.walk_end <= at) break;  // no progress: nothing more to walk
    at = arg.walk_end;
  }
  return out;
}

Napi::Float64Array ToArray(Napi::Env env, const std::vector<double>& v) {
  Napi::Float64Array result = Napi::Float64Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) result[i] = v[i];
  return result;
}

// pagemapScanWritten(pagemapFd, start, end, reset) -> the written ranges;
// reset: protect them again in the same walk.
Napi::Value PagemapScanWritten(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool reset = info.Length() > 3 && info[3].ToBoolean().Value();
  // Present and written: an unpopulated page without a uffd-wp marker also
  // reads as "written" (nothing protects it), but nobody wrote it.
  return ToArray(env, Scan(env, ArgFd(info, 0, "pagemapFd"), ArgU64(info, 1, "start"), ArgU64(info, 2, "end"),
                           kCheckWpAsync | (reset ? kWpMatching : 0), kPageIsWritten | kPageIsPresent));
}

// pagemapScanPresent(pagemapFd, start, end) -> the ranges with a page mapped.
Napi::Value PagemapScanPresent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return ToArray(env, Scan(env, ArgFd(info, 0, "pagemapFd"), ArgU64(info, 1, "start"), ArgU64(info, 2, "end"), 0, kPageIsPresent));
}

}  // namespace

void InitPagemap(Napi::Env env, Napi::Object exports) {
  exports.Set("pagemapScanWritten", Napi::Function::New(env, PagemapScanWritten, "pagemapScanWritten"));
  exports.Set("pagemapScanPresent", Napi::Function::New(env, PagemapScanPresent, "pagemapScanPresent"));
}

}  // namespace faultline
