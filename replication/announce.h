#pragma once
// AnnouncePolicies: tells an observer every enabled policy and the remote
// registry it replicates with (the destination of a push policy, the source
// of a pull policy: the `destination` label the engine reports under), so
// their metric series exist from the start.
#include "base/status.h"
#include "replication/observer.h"
#include "replication/state_store.h"

namespace pier::replication {

// Calls observer.OnPolicyKnown once per enabled policy whose remote endpoint
// exists. Returns the store's error when policies or endpoints cannot be read.
Status AnnouncePolicies(ReplicationStore& repl, ReplicationObserver& observer);

// The same for one policy created or changed after the start (through the
// API): an observer's series for it exist from then on. Calling it again for
// the same policy adds nothing (the observer's series are keyed by name).
Status AnnouncePolicy(ReplicationStore& repl, ReplicationObserver& observer, const Policy& p);

}  // namespace pier::replication
