// Float32Arrays in memory the addon owns (allocateFloat32): a fit reads them where they are and
// holds a share of the memory, so that neither garbage collection nor a transfer of the array frees
// it mid-fit. Any other array is copied once, so a fit never reads memory that JavaScript controls.
#pragma once
#include <napi.h>

#include <memory>

#include "binding/convert.h"

namespace ae::binding {

// allocateFloat32(length): a zeroed Float32Array in addon-owned, 64-byte aligned memory.
Napi::Value allocate_float32(const Napi::CallbackInfo& info);

// A new Float32Array of `length` values for a result that is written whole before anyone reads it.
// Large results go into addon-owned memory, recycled from earlier results and not zero-filled (a fit
// on them needs no copy), unless earlier ones still await their release and, with this one, would
// pass a limit (128 MiB); others into V8's.
Napi::Float32Array result_float32(Napi::Env env, size_t length);

// allocateRows(length): a zeroed Float32Array for rows the library fills, placed as result_float32
// places results: a fit trains on large ones without a copy, and a synchronous loop that makes many
// leaves no more than the limit of them awaiting release.
Napi::Value allocate_rows(const Napi::CallbackInfo& info);

// The rows of `span` for a fit on another thread: a share of the addon's memory where `span` lies
// inside an array from allocateFloat32, else a copy.
std::shared_ptr<const float> hold_rows(const FloatSpan& span);

}  // namespace ae::binding
