// Module registration. The addon is context-aware (Napi::Addon): it loads in the
// main thread and in every worker, with no static state shared between them.
// Each source file owns one job and adds its exports through an Init* hook.
#include <napi.h>

#include "init.h"

namespace faultline {

class FaultlineAddon : public Napi::Addon<FaultlineAddon> {
 public:
  FaultlineAddon(Napi::Env env, Napi::Object exports) {
    InitUffd(env, exports);
    InitMemory(env, exports);
    InitFutex(env, exports);
    InitReader(env, exports);
    InitSocket(env, exports);
    InitFaultWaiter(env, exports);
    InitDoorbell(env, exports);
    InitPagemap(env, exports);
    InitPrefetcher(env, exports);
    InitEvictor(env, exports);
    InitDiagnostics(env, exports);
    InitPattern(env, exports);
  }
};

}  // namespace faultline

using faultline::FaultlineAddon;
NODE_API_ADDON(FaultlineAddon)
