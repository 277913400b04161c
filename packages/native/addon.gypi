{
  # What every Node addon target of this package shares (the production addon
  # and the test addon): node-addon-api with C++ exceptions, and teardown that
  # cannot abort the process.
  "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
  "defines": [
    "NAPI_VERSION=8",
    "NODE_ADDON_API_DISABLE_DEPRECATED",
    "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
    "NAPI_CPP_EXCEPTIONS"
  ],
  "cflags_cc": ["-fexceptions"],
  "libraries": ["-lpthread"]
}
