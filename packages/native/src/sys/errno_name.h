// errno -> its symbolic name ("EINVAL"): the `code` of every Node-shaped error
// and of every errno a native thread reports to JS. One home, so all agree.
#pragma once
#include <cstring>

namespace faultline::sys {

// strerrorname_np exists since glibc 2.32; it knows every errno the kernel
// returns, so the fallback is for numbers that are no errno at all.
inline const char* ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : "UNKNOWN";
}

}  // namespace faultline::sys
