#pragma once
// Internals shared by the API's resource files: the handler state, the
// parsed route, and Harbor-shaped responses.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "adapter/api/api.h"

namespace pier::api {

struct ApiHandler::Impl {
  std::shared_ptr<replication::ReplicationStore> repl;
  std::shared_ptr<Store> store;
  std::shared_ptr<auth::Authorizer> authorizer;
  ApiOptions options;
};
using Context = ApiHandler::Impl;

// One API call as the resource handlers see it: the request, the path
// segments after /api/v2.0 and the buffered body.
struct ApiCall {
  const http::Request& req;
  const std::vector<std::string>& segments;
  const std::string& body;
};

// {"errors":[{"code":code,"message":message}]} with Content-Type JSON.
http::Response ApiError(int status, std::string_view code, std::string_view message);
// Maps a Status to Harbor's HTTP code and error code.
http::Response FromStatus(const Status& s);
http::Response JsonResponse(int status, const nlohmann::json& body);
// 200 with a text/plain (UTF-8) body: a log.
http::Response TextResponse(std::string body);
http::Response EmptyResponse(int status);
http::Response Created(std::string location);

// The body as a JSON object, or InvalidArgument.
Result<nlohmann::json> ParseBody(const std::string& body);
// A path id: positive decimal integer, or InvalidArgument.
Result<int64_t> ParseId(std::string_view s);

// page/page_size/q/name handling for list endpoints.
struct ListQuery {
  int64_t page = 1;
  int64_t page_size = 10;
  std::string name;       // filter value ("" = none)
  bool name_fuzzy = false;
  bool Matches(std::string_view item_name) const;
};
Result<ListQuery> ParseListQuery(const http::Request& req);
// Slices `items` (all matches) for the page and sets X-Total-Count and Link.
http::Response PagedResponse(const http::Request& req, const ListQuery& q, std::vector<nlohmann::json> items);

// Resource handlers (one file each). Method already checked by the router.
http::Response HandleRegistries(Context& ctx, const ApiCall& call);
http::Response HandlePolicies(Context& ctx, const ApiCall& call);
http::Response HandleAdapters(Context& ctx, const ApiCall& call);
http::Response HandleExecutions(Context& ctx, const ApiCall& call);
http::Response HandleUpstreams(Context& ctx, const ApiCall& call);
http::Response HandleQuotas(Context& ctx, const ApiCall& call);
http::Response HandleGc(Context& ctx, const ApiCall& call);
http::Response HandleRetentions(Context& ctx, const ApiCall& call);
http::Response HandleReport(Context& ctx, const ApiCall& call);
// The report's repository parameter, validated (the route's access check
// needs it before the handler runs).
Result<std::string> ReportRepository(const http::Request& req);

}  // namespace pier::api
