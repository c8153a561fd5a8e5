// Errors thrown by the core. Each carries a stable code that the binding maps onto a JS error class.
#pragma once
#include <stdexcept>
#include <string>

namespace ae {

enum class ErrorKind { Type, Range, NonFinite, State, Format, Resource, Cancelled, Internal };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string code, const std::string& message)
      : std::runtime_error(message), kind_(kind), code_(std::move(code)) {}
  ErrorKind kind() const { return kind_; }
  const std::string& code() const { return code_; }

 private:
  ErrorKind kind_;
  std::string code_;
};

[[noreturn]] inline void throw_range(const std::string& message) {
  throw Error(ErrorKind::Range, "ERR_OUT_OF_RANGE", message);
}
[[noreturn]] inline void throw_type(const std::string& message) {
  throw Error(ErrorKind::Type, "ERR_INVALID_ARG_TYPE", message);
}

}  // namespace ae
