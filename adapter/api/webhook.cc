#include "adapter/api/webhook.h"

#include <openssl/crypto.h>

#include "adapter/api/context.h"
#include "adapter/http/access_log.h"
#include "base/log.h"
#include "replication/engine.h"
#include "replication/harbor_webhook.h"
#include "replication/seen_events.h"

namespace pier::api {
namespace {

constexpr size_t kBodyLimit = 1 << 20;

bool SameSecret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

WebhookHandler::WebhookHandler(std::string authorization, std::shared_ptr<replication::SeenEvents> seen,
                               std::shared_ptr<replication::Engine> engine, bool access_log,
                               std::shared_ptr<http::Handler> next)
    : authorization_(std::move(authorization)),
      seen_(std::move(seen)),
      engine_(std::move(engine)),
      access_log_(access_log),
      next_(std::move(next)) {}

http::Exchange WebhookHandler::Begin(const http::Request& req) {
  if (authorization_.empty() || req.path != kHarborWebhookPath) return next_->Begin(req);
  http::AccessLog log_line(req, access_log_);
  if (req.method != "POST") {
    http::Response r = ApiError(405, "METHOD_NOT_ALLOWED", "POST only");
    log_line(r);
    return http::Reply(std::move(r));
  }
  if (!SameSecret(req.Header("authorization"), authorization_)) {
    http::Response r =
        ApiError(401, "UNAUTHORIZED", "the webhook's Authorization header is missing or wrong");
    log_line(r);
    return http::Reply(std::move(r));
  }
  http::Exchange ex;
  ex.mode = http::BodyMode::kBuffer;
  ex.buffer_limit = kBodyLimit;
  ex.blocking = true;  // RocksDB writes before the answer
  ex.finish = [seen = seen_, engine = engine_, req, log_line](http::BodyResult body) -> http::Response {
    http::Response r = [&]() -> http::Response {
      if (!body.status.ok()) {
        if (body.status.code() == Code::kSizeInvalid)
          return ApiError(413, "PAYLOAD_TOO_LARGE", "body larger than 1 MiB");
        return ApiError(400, "BAD_REQUEST", "body: " + body.status.message());
      }
      auto events = replication::ParseHarborWebhook(req.Header("content-type"), body.buffered);
      if (!events.ok()) return FromStatus(events.status());
      int accepted = 0, duplicates = 0;
      for (const auto& e : *events) {
        // Recorded first: a crash after this line loses no acknowledged event twice.
        auto fresh = seen->RecordIfNew("harbor/" + e.id, e.type + " " + e.repository + " " + e.reference);
        if (!fresh.ok()) return FromStatus(fresh.status());
        if (!*fresh) {
          ++duplicates;
          continue;
        }
        ++accepted;
        engine->OnHarborEvent(e.repository, e.reference, e.digest, e.deletion(), e.source_host);
      }
      return JsonResponse(200, nlohmann::json{{"accepted", accepted}, {"duplicates", duplicates}});
    }();
    log_line(r);
    return r;
  };
  return ex;
}

}  // namespace pier::api
