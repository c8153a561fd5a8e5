// Mapping of core errors onto JavaScript error classes and codes.
#include "binding/errors.h"

#include <new>

namespace ae::binding {

ErrorInfo capture(const std::exception& e) {
  ErrorInfo info;
  info.message = e.what();
  if (const auto* err = dynamic_cast<const Error*>(&e)) {
    info.kind = err->kind();
    info.code = err->code();
  } else if (dynamic_cast<const std::bad_alloc*>(&e)) {
    info.kind = ErrorKind::Resource;
    info.code = "ERR_OUT_OF_MEMORY";
    info.message = "out of memory";
  }
  return info;
}

Napi::Value make_error(Napi::Env env, const ErrorInfo& info) {
  Napi::Error error;
  switch (info.kind) {
    case ErrorKind::Type: error = Napi::TypeError::New(env, info.message); break;
    case ErrorKind::Range: error = Napi::RangeError::New(env, info.message); break;
    default: error = Napi::Error::New(env, info.message); break;
  }
  error.Set("code", Napi::String::New(env, info.code));
  return error.Value();
}

void throw_js(Napi::Env env, const ErrorInfo& info) {
  throw Napi::Error(env, make_error(env, info));
}

}  // namespace ae::binding
