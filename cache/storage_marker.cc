#include "cache/storage_marker.h"

#include "base/file.h"

namespace pier {

Result<std::string> ReadStorageMarker(const Layout& layout) {
  auto text = ReadSmallFile(layout.StorageMarker(), 4096);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return std::string("filesystem");
    return text.status();
  }
  std::string v = std::move(*text);
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  return v;
}

Status CheckStorageMarker(const Layout& layout, std::string_view identity) {
  std::error_code ec;
  const bool present = std::filesystem::exists(layout.StorageMarker(), ec);
  if (present) {
    auto recorded = ReadStorageMarker(layout);
    if (!recorded.ok()) return recorded.status();
    if (*recorded == identity) return Status::OK();
    return Status::FailedPrecondition("the blobs of " + layout.root().string() + " are in \"" + *recorded +
                                      "\", not \"" + std::string(identity) +
                                      "\": start with the storage settings it was made with (" +
                                      layout.StorageMarker().string() + ")");
  }
  // Written once, atomically: a crash leaves no file or the whole file.
  const auto tmp = layout.StorageMarker().string() + ".tmp";
  auto fd = OpenForWrite(tmp);
  if (!fd.ok()) return fd.status();
  const std::string line = std::string(identity) + "\n";
  if (Status s = Truncate(fd->get(), 0); !s.ok()) return s;
  if (Status s = WriteAt(fd->get(), 0, std::span<const char>(line.data(), line.size())); !s.ok()) return s;
  if (Status s = Fsync(fd->get()); !s.ok()) return s;
  if (Status s = RenameFile(tmp, layout.StorageMarker()); !s.ok()) return s;
  return FsyncDir(layout.root());
}

}  // namespace pier
