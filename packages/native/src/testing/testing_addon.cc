// Registration of the test addon. Context-aware like the main addon, so tests
// may load it in workers too. Built only with the gyp variable
// faultline_testing=1 (the workspace default; binding.gyp).
#include <napi.h>

#include "testing_init.h"

namespace faultline {

class FaultlineTestingAddon : public Napi::Addon<FaultlineTestingAddon> {
 public:
  FaultlineTestingAddon(Napi::Env env, Napi::Object exports) {
    InitToucher(env, exports);
    InitRingTesting(env, exports);
    InitErrnoError(env, exports);
    InitOocWorkload(env, exports);
    InitMoveOut(env, exports);
  }
};

}  // namespace faultline

using faultline::FaultlineTestingAddon;
NODE_API_ADDON(FaultlineTestingAddon)
