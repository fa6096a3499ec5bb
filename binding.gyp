{
  "targets": [
    {
      "target_name": "zbpf",
      "sources": [
        "native/core/shared_region.cc",
        "native/core/readiness.cc",
        "native/bsd/bpf_device.cc",
        "native/napi/js_error.cc",
        "native/napi/lent_view.cc",
        "native/napi/js_readiness.cc",
        "native/napi/options.cc",
        "native/napi/bpf_handle.cc",
        "native/filter/pcap_compiler.cc",
        "native/napi/compile_filter.cc",
        "native/napi/abi_info.cc",
        "native/napi/addon.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      # NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: a worker that is being terminated cannot take a JS
      # exception any more; without it node-addon-api aborts the whole process when one is thrown.
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Werror=return-type"],
      "conditions": [
        ["OS=='linux'", {
          "libraries": ["-ldl"],
          "sources": ["native/linux/tpacket_ring.cc", "native/napi/tpacket_handle.cc"]
        }]
      ]
    }
  ]
}
