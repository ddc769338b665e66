#pragma once
// Internal (included by session.cc only): a Beast request parser that keeps
// header fields exactly in arrival order (beast::http::fields groups equal
// names together) and hands the body out in pieces copied into a caller's
// buffer, like http::buffer_body: when the buffer is full the read stops
// with http::error::need_buffer.
#include <algorithm>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace pier::http::internal {

class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;

  RequestParser() {
    // The Exchange bounds bodies. (Boost 1.74 treats an unset limit as
    // zero, so give the largest one rather than none.)
    body_limit(UINT64_MAX);
  }

  const std::string& method() const { return method_; }
  const std::string& target() const { return target_; }
  int version() const { return version_; }
  // Fields in arrival order, names lower-cased.
  std::vector<std::pair<std::string, std::string>>& fields() { return fields_; }

  // Where the next body bytes go; used() counts what arrived since.
  void SetBodyBuffer(char* data, size_t size) {
    data_ = data;
    capacity_ = size;
    used_ = 0;
  }
  size_t used() const { return used_; }

 private:
  void on_request_impl(boost::beast::http::verb, string_view method, string_view target, int version,
                       error_code&) override {
    method_.assign(method.data(), method.size());
    target_.assign(target.data(), target.size());
    version_ = version;
  }

  void on_response_impl(int, string_view, int, error_code&) override {}

  void on_field_impl(boost::beast::http::field, string_view name, string_view value, error_code&) override {
    std::string lower(name.data(), name.size());
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
    fields_.emplace_back(std::move(lower), std::string(value.data(), value.size()));
  }

  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  size_t on_body_impl(string_view body, error_code& ec) override { return Take(body, ec); }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override {
    return Take(body, ec);
  }
  void on_finish_impl(error_code&) override {}

  size_t Take(string_view body, error_code& ec) {
    if (body.empty()) return 0;
    const size_t n = std::min(body.size(), capacity_ - used_);
    if (n > 0) std::memcpy(data_ + used_, body.data(), n);
    used_ += n;
    if (n < body.size()) ec = boost::beast::http::error::need_buffer;
    return n;
  }

  std::string method_;
  std::string target_;
  int version_ = 11;
  std::vector<std::pair<std::string, std::string>> fields_;
  char* data_ = nullptr;
  size_t capacity_ = 0;
  size_t used_ = 0;
};

}  // namespace pier::http::internal
