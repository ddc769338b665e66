#pragma once
// The durable state of an upload session whose bytes are in a remote
// storage (RemoteUploads): kept in the session's record, so whichever
// replica serves the next PATCH continues from it.
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "cache/blob_storage.h"

namespace pier {

struct RemoteUploadState {
  std::string upload_id;           // the multipart upload; empty until the first full part
  std::vector<UploadPart> parts;   // numbered 1..n, each part_size bytes
  uint64_t parts_bytes = 0;        // n * part_size
  uint64_t tail = 0;               // bytes in the tail object (offset = parts_bytes + tail)
  std::string sha;                 // Sha256::SaveState at the session's offset
};

std::string EncodeRemoteState(const RemoteUploadState& s);
// Corruption naming what is wrong.
Result<RemoteUploadState> DecodeRemoteState(std::string_view text);

}  // namespace pier
