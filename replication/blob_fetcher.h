#pragma once
// FetchBlob: the pull-mode twin of SendBlob — makes one blob of a remote
// registry present in a repository of this instance:
//   1. the local repository already links it: done (skipped);
//   2. download into a local upload session, hashing on the way; every
//      chunk_size bytes the session is flushed (durable), so a retry after a
//      dropped connection continues from the committed offset with a Range
//      request instead of starting again;
//   3. commit: verified against the digest (a wrong blob is never linked),
//      stored once however many repositories link it.
// Failures are retried with backoff while attempts make progress.
#include "replication/blob_sender.h"

namespace pier::replication {

// env.store is the destination here; env.client the source registry.
Result<BlobOutcome> FetchBlob(const SendEnv& env, const BlobJob& job);

}  // namespace pier::replication
