{
  # Every native source of Faultline. Each .cc owns one job and exports its
  # functions through an Init* hook called from addon.cc.
  "target_defaults": {
    "cflags_cc": ["-std=c++20", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++14"],
    "cflags": ["-O2", "-Wall"],
  },
  "targets": [
    {
      "target_name": "faultline_native",
      "sources": [
        "src/addon.cc",
        "src/errors.cc",
        "src/uffd.cc",
        "src/memory.cc",
        "src/futex.cc",
        "src/ring_binding.cc",
        "src/reader/reader_engine.cc",
        "src/reader/reader_binding.cc",
        "src/toucher.cc",
        "src/socket.cc",
        "src/direct_poll.cc",
        "src/pattern.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "NAPI_CPP_EXCEPTIONS"
      ],
      "cflags_cc": ["-fexceptions"],
      "libraries": ["-lpthread"]
    },
    {
      # The raw C handler the bench runs next to Faultline (packages/bench).
      # Shares the toucher with the addon through src/touch_core.h.
      "target_name": "faultline_c_baseline",
      "type": "executable",
      "sources": ["src/baseline/c_baseline.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-pthread"],
      "ldflags": ["-pthread"]
    },
    {
      # What waking a sleeping thread costs on this machine (the bench's header).
      "target_name": "faultline_wake_probe",
      "type": "executable",
      "sources": ["src/baseline/wake_probe.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-pthread"],
      "ldflags": ["-pthread"]
    }
  ]
}
