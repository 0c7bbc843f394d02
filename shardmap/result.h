// Result<T, E>: either a value or an error, returned where failure is an expected outcome
// (bad input, a refused config) rather than a fault. shardmap/ throws no exceptions to its
// callers; its errors travel as these values.
//
// A plain value type: thread-safety is that of T and E.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace shardline::shardmap {

template <typename T, typename E = std::string>
class Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit

  static Result failure(E error) { return Result(std::in_place_index<1>, std::move(error)); }

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Requires: ok().
  const T& value() const& {
    assert(ok());
    return *std::get_if<0>(&state_);
  }
  T&& value() && {
    assert(ok());
    return std::move(*std::get_if<0>(&state_));
  }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }

  // Requires: !ok().
  const E& error() const {
    assert(!ok());
    return *std::get_if<1>(&state_);
  }

 private:
  template <size_t I, typename V>
  Result(std::in_place_index_t<I> index, V&& value) : state_(index, std::forward<V>(value)) {}

  std::variant<T, E> state_;
};

}  // namespace shardline::shardmap
