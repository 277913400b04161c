{
  # Every native source of Faultline. Each .cc owns one job and exports its
  # functions through an Init* hook called from its addon's registration file.
  "variables": {
    # 1: also build what only tests and the bench use (src/testing/: the
    # faultline_testing addon behind @faultline/native/testing, the C baseline
    # handler, the wake-up probe). scripts/build.mjs always passes it: 1 for the
    # workspace build, 0 for a user's `npm install`. This default serves a
    # direct `node-gyp rebuild --nodedir=...` in the repository.
    "faultline_testing%": 1
  },
  "target_defaults": {
    "cflags_cc": ["-std=c++20", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++14"],
    "cflags": ["-O2", "-Wall"],
  },
  "targets": [
    {
      # The production addon (@faultline/native).
      "target_name": "faultline_native",
      "includes": ["addon.gypi"],
      "sources": [
        "src/addon.cc",
        "src/errors.cc",
        "src/uffd.cc",
        "src/memory.cc",
        "src/futex.cc",
        "src/reader/reader_engine.cc",
        "src/reader/reader_binding.cc",
        "src/socket/unix_listener.cc",
        "src/socket/unix_server.cc",
        "src/serve/fault_waiter.cc",
        "src/serve/doorbell.cc",
        "src/diagnostics.cc",
        "src/pattern.cc",
        "src/pagemap.cc",
        "src/serve/prefetcher.cc",
        "src/evict/evictor_binding.cc"
      ]
    }
  ],
  "conditions": [
    ["faultline_testing==1", {
      "targets": [
        {
          # Test and bench helpers (@faultline/native/testing): never loaded by production code.
          "target_name": "faultline_testing",
          "includes": ["addon.gypi"],
          "sources": [
            "src/testing/testing_addon.cc",
            "src/errors.cc",
            "src/testing/toucher.cc",
            "src/testing/ring_binding.cc",
            "src/testing/errno_error.cc",
            "src/testing/ooc_binding.cc",
            "src/testing/move_out_binding.cc"
          ]
        },
        {
          # The raw C handlers the bench runs next to Faultline (packages/bench):
          # blocking, busy-polling ("the limit") and readahead. Shares the
          # toucher with the test addon through src/testing/touch_core.h.
          "target_name": "faultline_c_baseline",
          "type": "executable",
          "sources": ["src/testing/baseline/c_baseline.c"],
          "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-pthread"],
          "ldflags": ["-pthread"]
        },
        {
          # The adopt bench's faulting process: a Firecracker-style uffd handed
          # over a Unix socket, then touched with the same toucher.
          "target_name": "faultline_adopt_child",
          "type": "executable",
          "sources": ["src/testing/baseline/adopt_child.c"],
          "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-pthread"],
          "ldflags": ["-pthread"]
        },
        {
          # The adopt bench's C reference: a handler process serving that uffd.
          "target_name": "faultline_adopt_handler",
          "type": "executable",
          "sources": ["src/testing/baseline/adopt_handler.c"],
          "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-pthread"],
          "ldflags": ["-pthread"]
        },
        {
          # The out-of-core group's C reference: a blocking handler that evicts
          # with Faultline's policy, running the same workload (ooc_workload.h).
          "target_name": "faultline_ooc_c",
          "type": "executable",
          "sources": ["src/testing/baseline/ooc_c.c"],
          "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-pthread"],
          "ldflags": ["-pthread"]
        },
        {
          # What waking a sleeping thread costs on this machine (the bench's header).
          "target_name": "faultline_wake_probe",
          "type": "executable",
          "sources": ["src/testing/baseline/wake_probe.c"],
          "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-pthread"],
          "ldflags": ["-pthread"]
        }
      ]
    }]
  ]
}
