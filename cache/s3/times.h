#pragma once
// The time formats S3 speaks: x-amz-date ("20130524T000000Z"), ISO 8601 in
// XML answers ("2009-10-12T17:50:30.000Z") and HTTP dates in Last-Modified
// ("Wed, 12 Oct 2009 17:50:00 GMT"). All UTC; parsers are strict and return
// nullopt on anything else.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pier::s3 {

std::string FormatAmzDate(int64_t unix_seconds);
std::optional<int64_t> ParseIso8601(std::string_view text);
std::optional<int64_t> ParseHttpDate(std::string_view text);

}  // namespace pier::s3
