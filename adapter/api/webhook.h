#pragma once
// Harbor webhook intake: POST /webhooks/harbor with Harbor's Default or
// CloudEvents payload (replication/harbor_webhook.h).
//
// Promises:
//  - served only when a shared Authorization value is configured
//    (`webhooks.harbor.authorization`, what Harbor's webhook policy sends);
//    a request without exactly that header gets 401 and changes nothing;
//  - a malformed payload gets 400 naming the field and changes nothing;
//  - each event is recorded in RocksDB before the answer (Harbor waits 3 s
//    and retries), and an event seen before is ignored (answer says so;
//    replication/seen_events.h says how long events are remembered);
//  - accepted events start the enabled event-based pull policies whose
//    source is a `harbor` endpoint on the event's host (Engine::OnHarborEvent).
// Every other path goes to `next`.
#include <memory>
#include <string>

#include "adapter/http/message.h"

namespace pier::replication {
class Engine;
class SeenEvents;
}  // namespace pier::replication

namespace pier::api {

inline constexpr std::string_view kHarborWebhookPath = "/webhooks/harbor";

class WebhookHandler : public http::Handler {
 public:
  WebhookHandler(std::string authorization, std::shared_ptr<replication::SeenEvents> seen,
                 std::shared_ptr<replication::Engine> engine, bool access_log,
                 std::shared_ptr<http::Handler> next);
  http::Exchange Begin(const http::Request& request) override;

 private:
  std::string authorization_;
  std::shared_ptr<replication::SeenEvents> seen_;
  std::shared_ptr<replication::Engine> engine_;
  bool access_log_;
  std::shared_ptr<http::Handler> next_;
};

}  // namespace pier::api
