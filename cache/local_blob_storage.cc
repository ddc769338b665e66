#include "cache/local_blob_storage.h"

#include <sys/stat.h>

#include <filesystem>

namespace pier {
namespace {

class FileReader final : public BlobReader {
 public:
  FileReader(UniqueFd fd, uint64_t size) : fd_(std::move(fd)), size_(size) {}
  uint64_t size() const override { return size_; }
  Result<size_t> ReadAt(uint64_t offset, std::span<char> data) override {
    if (offset >= size_ || data.empty()) return size_t{0};
    const uint64_t want = std::min<uint64_t>(data.size(), size_ - offset);
    size_t done = 0;
    while (done < want) {
      auto n = pier::ReadAt(fd_.get(), offset + done, data.subspan(done, want - done));
      if (!n.ok()) return n.status();
      if (*n == 0) return Status::Corruption("blob file ends before its recorded size");
      done += *n;
    }
    return done;
  }
  int fd() const override { return fd_.get(); }
  Result<UniqueFd> TakeFd() override { return std::move(fd_); }

 private:
  UniqueFd fd_;
  uint64_t size_;
};

std::optional<StoredObject> StatRegular(const std::filesystem::path& path, std::string name) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return StoredObject{std::move(name), static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtime)};
}

bool IsBlobFileName(std::string_view shard, std::string_view name) {
  return name.starts_with(shard) && Digest::Parse("sha256:" + std::string(name)).ok();
}

}  // namespace

std::unique_ptr<BlobReader> FileBlobReader(UniqueFd fd, uint64_t size) {
  return std::make_unique<FileReader>(std::move(fd), size);
}

Result<std::unique_ptr<BlobReader>> LocalBlobStorage::Open(const Digest& d) {
  auto fd = OpenForRead(layout_.BlobPath(d));
  if (!fd.ok()) return fd.status();
  auto size = FileSize(fd->get());
  if (!size.ok()) return size.status();
  return FileBlobReader(std::move(*fd), *size);
}

Result<std::optional<StoredObject>> LocalBlobStorage::Stat(const Digest& d) {
  return StatRegular(layout_.BlobPath(d), d.hex);
}

Status LocalBlobStorage::Remove(const Digest& d) { return RemoveFile(layout_.BlobPath(d)); }

Status LocalBlobStorage::ListBlobs(const std::function<bool(const StoredObject&)>& fn) {
  auto shards = ListDir(layout_.BlobsDir());
  if (!shards.ok()) return shards.status();
  for (const auto& shard : *shards) {
    if (shard.size() != 2) continue;
    auto names = ListDir(layout_.BlobsDir() / shard);
    if (!names.ok()) continue;  // a regular file, not a shard: recovery judges it
    for (const auto& name : *names) {
      if (!IsBlobFileName(shard, name)) continue;
      auto obj = StatRegular(layout_.BlobsDir() / shard / name, name);
      if (obj && !fn(*obj)) return Status::OK();
    }
  }
  return Status::OK();
}

Status LocalBlobStorage::Promote(std::string_view uuid, const Digest& d) {
  const auto path = layout_.BlobPath(d);
  const auto shard = path.parent_path();
  std::error_code ec;
  if (!std::filesystem::exists(shard, ec)) {
    if (Status s = MakeDirs(shard); !s.ok()) return s;
    if (Status s = FsyncDir(layout_.BlobsDir()); !s.ok()) return s;
  }
  if (Status s = RenameFile(layout_.UploadPath(uuid), path); !s.ok()) return s;
  return FsyncDir(shard);
}

Status LocalBlobStorage::Unpromote(const Digest& d, std::string_view uuid) {
  return RenameFile(layout_.BlobPath(d), layout_.UploadPath(uuid));
}

Status LocalBlobStorage::RemoveUpload(std::string_view uuid) { return RemoveFile(layout_.UploadPath(uuid)); }

Result<std::optional<StoredObject>> LocalBlobStorage::StatUpload(std::string_view uuid) {
  return StatRegular(layout_.UploadPath(uuid), std::string(uuid));
}

Status LocalBlobStorage::ListUploads(const std::function<bool(const StoredObject&)>& fn) {
  auto names = ListDir(layout_.UploadsDir());
  if (!names.ok()) return names.status();
  for (const auto& name : *names) {
    auto obj = StatRegular(layout_.UploadsDir() / name, name);
    if (obj && !fn(*obj)) return Status::OK();
  }
  return Status::OK();
}

}  // namespace pier
