// Harbor-shaped responses, body/id parsing and list paging for the API.
#include <algorithm>

#include "adapter/api/context.h"
#include "base/json_depth.h"

namespace pier::api {

using json = nlohmann::json;

http::Response JsonResponse(int status, const json& body) {
  http::Response r;
  r.status = status;
  r.body = body.dump();
  r.Set("Content-Type", "application/json");
  return r;
}

http::Response TextResponse(std::string body) {
  http::Response r;
  r.status = 200;
  r.Set("Content-Type", "text/plain; charset=utf-8");
  r.body = std::move(body);
  return r;
}

http::Response EmptyResponse(int status) {
  http::Response r;
  r.status = status;
  return r;
}

http::Response ApiError(int status, std::string_view code, std::string_view message) {
  json e = {{"errors", json::array({{{"code", std::string(code)}, {"message", std::string(message)}}})}};
  // The error text may quote client input; dump() escapes it, and invalid
  // UTF-8 is replaced rather than thrown on.
  http::Response r;
  r.status = status;
  r.body = e.dump(-1, ' ', false, json::error_handler_t::replace);
  r.Set("Content-Type", "application/json");
  return r;
}

http::Response FromStatus(const Status& s) {
  switch (s.code()) {
    case Code::kNotFound: return ApiError(404, "NOT_FOUND", s.message());
    case Code::kInvalidArgument:
    case Code::kUnsupported: return ApiError(400, "BAD_REQUEST", s.message());
    case Code::kAlreadyExists: return ApiError(409, "CONFLICT", s.message());
    case Code::kFailedPrecondition: return ApiError(412, "PRECONDITION", s.message());
    default: return ApiError(500, "INTERNAL_SERVER_ERROR", s.message());
  }
}

http::Response Created(std::string location) {
  http::Response r;
  r.status = 201;
  r.Set("Location", std::move(location));
  return r;
}

Result<json> ParseBody(const std::string& body) {
  if (!JsonDepthWithin(body)) return Status::InvalidArgument("body: JSON nests too deeply");
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("body: invalid JSON");
  if (!j.is_object()) return Status::InvalidArgument("body: must be a JSON object");
  return j;
}

Result<int64_t> ParseId(std::string_view s) {
  if (s.empty() || s.size() > 18) return Status::InvalidArgument("id: must be a positive integer");
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return Status::InvalidArgument("id: must be a positive integer");
    v = v * 10 + (c - '0');
  }
  if (v <= 0) return Status::InvalidArgument("id: must be a positive integer");
  return v;
}

namespace {

Result<int64_t> ParsePositive(const http::Request& req, const char* key, int64_t dflt, int64_t max) {
  auto v = req.Query(key);
  if (!v || v->empty()) return dflt;
  if (v->size() > 9) return Status::InvalidArgument(std::string(key) + ": must be an integer between 1 and " + std::to_string(max));
  int64_t n = 0;
  for (char c : *v) {
    if (c < '0' || c > '9') {
      return Status::InvalidArgument(std::string(key) + ": must be an integer between 1 and " + std::to_string(max));
    }
    n = n * 10 + (c - '0');
  }
  if (n < 1 || n > max) {
    return Status::InvalidArgument(std::string(key) + ": must be an integer between 1 and " + std::to_string(max));
  }
  return n;
}

}  // namespace

bool ListQuery::Matches(std::string_view item_name) const {
  if (name.empty()) return true;
  if (name_fuzzy) return item_name.find(name) != std::string_view::npos;
  return item_name == name;
}

Result<ListQuery> ParseListQuery(const http::Request& req) {
  ListQuery q;
  auto page = ParsePositive(req, "page", 1, 1000000000);
  if (!page.ok()) return page.status();
  q.page = *page;
  auto size = ParsePositive(req, "page_size", 10, 100);
  if (!size.ok()) return size.status();
  q.page_size = *size;
  // Harbor's deprecated `name` parameter: a fuzzy match.
  if (auto n = req.Query("name"); n && !n->empty()) {
    q.name = *n;
    q.name_fuzzy = true;
  }
  // Harbor's query language, the part that applies here: name=exact, name=~fuzzy.
  if (auto qs = req.Query("q"); qs && !qs->empty()) {
    std::string_view s = *qs;
    if (s.rfind("name=", 0) != 0 || s.find(',') != std::string_view::npos) {
      return Status::InvalidArgument("q: only name=<value> and name=~<value> are supported");
    }
    s.remove_prefix(5);
    q.name_fuzzy = !s.empty() && s.front() == '~';
    if (q.name_fuzzy) s.remove_prefix(1);
    q.name = std::string(s);
  }
  return q;
}

http::Response PagedResponse(const http::Request& req, const ListQuery& q, std::vector<json> items) {
  size_t total = items.size();
  size_t start = static_cast<size_t>(std::min<int64_t>((q.page - 1) * q.page_size, static_cast<int64_t>(total)));
  size_t end = std::min(total, start + static_cast<size_t>(q.page_size));
  json page = json::array();
  for (size_t i = start; i < end; ++i) page.push_back(std::move(items[i]));
  http::Response r = JsonResponse(200, page);
  r.Set("X-Total-Count", std::to_string(total));

  auto link = [&](int64_t p, const char* rel) {
    std::string url = req.path + "?page=" + std::to_string(p) + "&page_size=" + std::to_string(q.page_size);
    if (auto qs = req.Query("q"); qs && !qs->empty()) url += "&q=" + http::PercentEncode(*qs);
    if (auto n = req.Query("name"); n && !n->empty()) url += "&name=" + http::PercentEncode(*n);
    return "<" + url + ">; rel=\"" + rel + "\"";
  };
  std::string links;
  if (q.page > 1 && start > 0) links = link(q.page - 1, "prev");
  if (end < total) links += (links.empty() ? "" : " , ") + link(q.page + 1, "next");
  if (!links.empty()) r.Set("Link", links);
  return r;
}

}  // namespace pier::api
