// PAGEMAP_SCAN (Linux 6.7+): which pages of a range were written since they
// were last write-protected, for write tracking with UFFD_FEATURE_WP_ASYNC.
// With WP_ASYNC a write to a write-protected page in a WP-registered range
// is resolved by the kernel itself (no fault message): it lifts the
// protection and the page counts as "written" until protected again. One
// ioctl on /proc/self/pagemap lists the written ranges and, with
// PM_SCAN_WP_MATCHING, protects them again in the same walk (an atomic read
// and reset). The uapi header here predates it, so the ABI is spelled out
// (include/uapi/linux/fs.h).
#include <errno.h>
#include <sys/ioctl.h>

#include <cstdint>
#include <vector>

#include <napi.h>

#include "errors.h"
#include "init.h"

namespace faultline {
namespace {

struct PageRegion {
  uint64_t start;
  uint64_t end;
  uint64_t categories;
};

struct PmScanArg {
  uint64_t size;
  uint64_t flags;
  uint64_t start;
  uint64_t end;
  uint64_t walk_end;
  uint64_t vec;
  uint64_t vec_len;
  uint64_t max_pages;
  uint64_t category_inverted;
  uint64_t category_mask;
  uint64_t category_anyof_mask;
  uint64_t return_mask;
};

constexpr unsigned long kPagemapScan = _IOWR('f', 16, PmScanArg);  // 0xc0606610
constexpr uint64_t kWpMatching = 1 << 0;
constexpr uint64_t kCheckWpAsync = 1 << 1;
constexpr uint64_t kPageIsWritten = 1 << 1;
constexpr uint64_t kPageIsPresent = 1 << 3;
constexpr size_t kVecLen = 512;

// pagemapScanWritten(pagemapFd, start, end, reset) -> Float64Array of
// [start, end) pairs, the written ranges in address order; reset: protect
// them again in the same walk.
Napi::Value PagemapScanWritten(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0, "pagemapFd");
  uint64_t start = ArgU64(info, 1, "start");
  uint64_t end = ArgU64(info, 2, "end");
  bool reset = info.Length() > 3 && info[3].ToBoolean().Value();
  std::vector<PageRegion> vec(kVecLen);
  std::vector<double> out;
  uint64_t at = start;
  while (at < end) {
    PmScanArg arg{};
    arg.size = sizeof(arg);
    arg.flags = kCheckWpAsync | (reset ? kWpMatching : 0);
    arg.start = at;
    arg.end = end;
    arg.vec = reinterpret_cast<uint64_t>(vec.data());
    arg.vec_len = vec.size();
    // Present and written: an unpopulated page without a uffd-wp marker also
    // reads as "written" (nothing protects it), but nobody wrote it.
    arg.category_mask = kPageIsWritten | kPageIsPresent;
    arg.return_mask = kPageIsWritten;
    long n = ioctl(fd, kPagemapScan, &arg);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ErrnoError(env, "ioctl(PAGEMAP_SCAN)", errno,
                       errno == EOPNOTSUPP ? "the range is not registered for write protection with UFFD_FEATURE_WP_ASYNC" : "");
    }
    for (long i = 0; i < n; i++) {
      // Adjacent regions from two calls are merged so a range is reported once.
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
  Napi::Float64Array result = Napi::Float64Array::New(env, out.size());
  for (size_t i = 0; i < out.size(); i++) result[i] = out[i];
  return result;
}

}  // namespace

void InitPagemap(Napi::Env env, Napi::Object exports) {
  exports.Set("pagemapScanWritten", Napi::Function::New(env, PagemapScanWritten, "pagemapScanWritten"));
}

}  // namespace faultline
