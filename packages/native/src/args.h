// Cheap argument readers for hot-path bindings (uffd install ioctls, futex).
// The happy path costs one N-API call per argument and allocates nothing; any
// bad input falls back to errors.h's readers, which throw the TypeError.
#pragma once
#include <napi.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "errors.h"

namespace faultline {

// Non-negative integer below 2^53 (addresses, lengths, modes, fds).
inline uint64_t FastU64(const Napi::CallbackInfo& info, size_t index, const char* name) {
  double v;
  if (index < info.Length() && napi_get_value_double(info.Env(), info[index], &v) == napi_ok && v >= 0 &&
      v <= 9007199254740991.0 && std::floor(v) == v) {
    return static_cast<uint64_t>(v);
  }
  return ArgU64(info, index, name);  // throws the TypeError that names the argument
}

inline int FastFd(const Napi::CallbackInfo& info, size_t index, const char* name) {
  uint64_t v = FastU64(info, index, name);
  if (v > 0x7fffffff) return ArgFd(info, index, name);  // throws
  return static_cast<int>(v);
}

// The bytes behind a typed array or DataView, byteOffset included. Works for
// views over SharedArrayBuffers too (N-API hands out the raw data pointer).
struct ViewBytes {
  uint8_t* data = nullptr;
  size_t length = 0;                            // in bytes
  napi_typedarray_type type = napi_uint8_array;  // meaningful only when isTypedArray
  bool isTypedArray = false;
};

inline size_t TypedArrayElementSize(napi_typedarray_type type) {
  switch (type) {
    case napi_int16_array:
    case napi_uint16_array:
      return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      return 4;
    case napi_float64_array:
    case napi_bigint64_array:
    case napi_biguint64_array:
      return 8;
    default:
      return 1;
  }
}

// Returns false (no exception pending) when `value` is neither a typed array
// nor a DataView. Tries the typed-array query first: it is the common case, and
// a failed query only sets a status, so this costs one call for typed arrays.
inline bool GetViewBytes(napi_env env, napi_value value, ViewBytes* out) {
  size_t count = 0;
  void* data = nullptr;
  napi_typedarray_type type;
  if (napi_get_typedarray_info(env, value, &type, &count, &data, nullptr, nullptr) == napi_ok) {
    out->data = static_cast<uint8_t*>(data);
    out->length = count * TypedArrayElementSize(type);
    out->type = type;
    out->isTypedArray = true;
    return true;
  }
  if (napi_get_dataview_info(env, value, &count, &data, nullptr, nullptr) == napi_ok) {
    out->data = static_cast<uint8_t*>(data);
    out->length = count;
    out->isTypedArray = false;
    return true;
  }
  return false;
}

// GetViewBytes on argument `index`, or a TypeError naming it.
inline ViewBytes ArgView(const Napi::CallbackInfo& info, size_t index, const char* name) {
  ViewBytes view;
  if (index >= info.Length() || !GetViewBytes(info.Env(), info[index], &view)) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a typed array or DataView");
  }
  return view;
}

}  // namespace faultline
