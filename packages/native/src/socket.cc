// (filled by its owner; see init.h)
#include "init.h"

namespace faultline {

void InitSocket(Napi::Env env, Napi::Object exports) {}

}  // namespace faultline
