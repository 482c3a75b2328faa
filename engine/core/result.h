#pragma once
// Errors are values. An Error carries a code for programs and a message for people.

#include <string>
#include <utility>
#include <variant>

#include "engine/core/assert.h"

namespace aether {

struct Error {
  enum class Code { kInvalidArgument, kMalformed, kTooLarge, kUnavailable, kIo, kState };
  Code code = Code::kInvalidArgument;
  std::string message;
};

inline Error make_error(Error::Code code, std::string message) { return Error{code, std::move(message)}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() {
    AETHER_ASSERT(ok());
    return std::get<0>(v_);
  }
  const T& value() const {
    AETHER_ASSERT(ok());
    return std::get<0>(v_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  const Error& error() const {
    AETHER_ASSERT(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
struct Ok {};
using Status = Result<Ok>;
inline Status ok_status() { return Ok{}; }

}  // namespace aether
