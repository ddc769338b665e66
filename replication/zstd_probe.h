#pragma once
// Whether a destination takes zstd images, asked before any big upload of
// a policy with "compression": {"format": "zstd"} (transcode_push.h).
//
// ProbeZstd pushes a tiny OCI image into `repo` — one tar+zstd layer (an
// empty tar) and its config, the manifest by digest, never under a tag, so
// nothing shows up in the repository's tag list — reads the manifest back,
// checks its layer is still tar+zstd and the layer blob is there, then
// deletes the manifest (best effort: many registries refuse deletes).
//
// Returns OK when it is accepted; FailedPrecondition saying what the
// destination did when it refused (a verdict worth remembering); any other
// status for a failure that says nothing about zstd (network, auth, 5xx),
// to try again later.
#include <stop_token>
#include <string_view>

#include "adapter/client/registry_client.h"
#include "base/status.h"

namespace pier::replication {

Status ProbeZstd(client::RegistryClient& remote, std::string_view repo, std::stop_token stop);

}  // namespace pier::replication
