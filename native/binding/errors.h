// The one boundary where C++ errors become JavaScript errors: TypeError or RangeError for bad
// arguments, Error otherwise, each with a stable `code`.
#pragma once
#include <napi.h>

#include <string>

#include "core/errors.h"

namespace ae::binding {

// A core error captured on a worker thread, rebuilt as a JS error on the main thread.
struct ErrorInfo {
  ErrorKind kind = ErrorKind::Internal;
  std::string code = "ERR_INTERNAL";
  std::string message;
};

ErrorInfo capture(const std::exception& e);
Napi::Value make_error(Napi::Env env, const ErrorInfo& info);
[[noreturn]] void throw_js(Napi::Env env, const ErrorInfo& info);

// Runs fn, turning any C++ exception into a thrown JS error.
template <typename Fn>
auto guarded(Napi::Env env, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw_js(env, capture(e));
  }
}

}  // namespace ae::binding
