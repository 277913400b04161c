// Turns a JS Int32Array over a ring's SharedArrayBuffer into a RingView,
// throwing ERR_FAULTLINE_RING_INVALID (with the reason) when it is not one.
#pragma once
#include <napi.h>

#include <string>

#include "errors.h"
#include "ring.h"

namespace faultline {

inline ring::RingView RingArg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  Napi::Env env = info.Env();
  if (index >= info.Length() || !info[index].IsTypedArray() ||
      info[index].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(env, std::string(name) + " must be an Int32Array over the ring's SharedArrayBuffer (FaultRing.i32)");
  }
  Napi::Int32Array array = info[index].As<Napi::Int32Array>();
  std::string why;
  if (!ring::RingView::Validate(array.Data(), array.ByteLength(), &why)) {
    throw CodedError(env, "ERR_FAULTLINE_RING_INVALID", std::string(name) + ": " + why);
  }
  return ring::RingView(array.Data());
}

}  // namespace faultline
