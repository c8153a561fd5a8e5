{
  "variables": {
    "ae_openblas%": "<!(node native/build-config.js blas)",
    "ae_mpi%": "<!(node native/build-config.js mpi)",
    "ae_onednn%": "<!(node native/build-config.js onednn)"
  },
  "targets": [
    {
      "target_name": "native_autoencoder",
      "sources": ["<!@(node native/build-config.js sources core cpu mpi nocuda binding)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CPLUSPLUSFLAGS": ["-O3"]
      },
      "conditions": [
        ["ae_openblas==1", {
          "defines": ["AE_HAVE_OPENBLAS", "AE_OPENBLAS_LIBDIR=\"<!(node native/build-config.js blas-libdir)\""],
          "libraries": ["-ldl"]
        }],
        ["ae_onednn==1", {
          "defines": ["AE_HAVE_ONEDNN"],
          "libraries": ["-ldl"]
        }],
        ["ae_mpi==1", {
          "defines": ["AE_HAVE_MPI", "AE_MPI_LIBRARY=\"<!(node native/build-config.js mpi-library)\""],
          "include_dirs": ["<!@(node native/build-config.js mpi-include)"],
          "libraries": ["-ldl"]
        }]
      ]
    }
  ]
}
