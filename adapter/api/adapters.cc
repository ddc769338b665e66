// GET /replication/adapters: the endpoint types Pier can replicate with.
#include "adapter/api/context.h"

namespace pier::api {

http::Response HandleAdapters(Context&, const ApiCall&) {
  return JsonResponse(200, nlohmann::json(replication::SupportedEndpointTypes()));
}

}  // namespace pier::api
