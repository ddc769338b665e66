#pragma once
// A stored blob's bytes as a StreamBody (base/stream_body.h) for the HTTP
// server, when they have no file descriptor to sendfile from (an S3
// storage): a thread reads the range through the BlobReader (ranged GETs,
// read-ahead windows) into a bounded BytePipe. Memory per stream: the
// reader's window plus the pipe. The thread ends when the range is sent,
// the read fails (the client's connection is then cut: the body is not
// whole) or the client goes away.
#include <cstdint>
#include <memory>

#include "base/stream_body.h"
#include "cache/blob_storage.h"

namespace pier {

std::shared_ptr<StreamBody> StreamBlobRange(std::unique_ptr<BlobReader> reader, uint64_t offset, uint64_t length);

}  // namespace pier
