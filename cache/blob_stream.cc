#include "cache/blob_stream.h"

#include <thread>
#include <vector>

#include "base/byte_pipe.h"
#include "base/log.h"

namespace pier {

std::shared_ptr<StreamBody> StreamBlobRange(std::unique_ptr<BlobReader> reader, uint64_t offset, uint64_t length) {
  PipeEnds ends = BytePipe::Make();
  std::thread([reader = std::move(reader), writer = std::move(ends.writer), offset, length]() mutable {
    std::vector<char> buf(256 << 10);
    uint64_t at = offset;
    const uint64_t end = offset + length;
    while (at < end) {
      if (writer->ReaderGone()) return;  // the writer's destructor fails the pipe: nobody reads it
      const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), end - at));
      auto n = reader->ReadAt(at, std::span<char>(buf.data(), want));
      if (!n.ok() || *n == 0) {
        const std::string why = n.ok() ? "blob ends before its recorded size" : n.status().message();
        log::Warn("blob stream failed", {{"offset", std::to_string(at)}, {"reason", why}});
        writer->Fail(why);
        return;
      }
      if (!writer->Write(std::span<const char>(buf.data(), *n)).ok()) return;  // client gone
      at += *n;
    }
    writer->Finish();
  }).detach();
  return std::shared_ptr<StreamBody>(std::move(ends.reader));
}

}  // namespace pier
