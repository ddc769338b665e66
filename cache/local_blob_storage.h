#pragma once
// LocalBlobStorage: blob bytes as files under the data folder (layout.h),
// Pier's default and the fastest path: readers hand the descriptor to
// sendfile(2); Promote is a rename, so a commit copies nothing.
#include <memory>

#include "cache/blob_storage.h"
#include "cache/layout.h"

namespace pier {

class LocalBlobStorage : public BlobStorage {
 public:
  explicit LocalBlobStorage(Layout layout) : layout_(std::move(layout)) {}
  const Layout& layout() const { return layout_; }

  const char* kind() const override { return "filesystem"; }
  bool shared() const override { return false; }
  std::string identity() const override { return "filesystem"; }
  Result<std::unique_ptr<BlobReader>> Open(const Digest& d) override;
  Result<std::optional<StoredObject>> Stat(const Digest& d) override;
  Status Remove(const Digest& d) override;
  Status ListBlobs(const std::function<bool(const StoredObject&)>& fn) override;
  Status Promote(std::string_view uuid, const Digest& d) override;
  Status Unpromote(const Digest& d, std::string_view uuid) override;
  Status RemoveUpload(std::string_view uuid) override;
  Result<std::optional<StoredObject>> StatUpload(std::string_view uuid) override;
  Status ListUploads(const std::function<bool(const StoredObject&)>& fn) override;

 private:
  Layout layout_;
};

// A reader over an open file of known size (local blobs, upload files).
std::unique_ptr<BlobReader> FileBlobReader(UniqueFd fd, uint64_t size);

}  // namespace pier
