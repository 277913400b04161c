// Init hooks of the test addon (faultline_testing.node, loaded through
// `@faultline/native/testing`): helpers the tests and the bench need and
// production code never does. Called once per environment from testing_addon.cc.
#pragma once
#include <napi.h>

namespace faultline {

void InitToucher(Napi::Env env, Napi::Object exports);      // toucher.cc: touchPages, native faulting threads
void InitRingTesting(Napi::Env env, Napi::Object exports);  // ring_binding.cc: ringProduce, encodeUffdMsg
void InitErrnoError(Napi::Env env, Napi::Object exports);   // errno_error.cc: makeErrnoError
void InitOocWorkload(Napi::Env env, Napi::Object exports);  // ooc_binding.cc: the out-of-core bench workload
void InitMoveOut(Napi::Env env, Napi::Object exports);      // move_out_binding.cc: the evictor's MoveRunOut with lying moves

}  // namespace faultline
