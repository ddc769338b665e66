#include "replication/zstd_probe.h"

#include <sys/mman.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/manifest.h"
#include "cache/transcode/gzip_zstd.h"
#include "replication/zstd_manifest.h"

namespace pier::replication {
namespace {

// An answer that is about zstd itself: the destination understood the
// request and said no (4xx other than auth and rate limiting).
bool IsVerdict(const client::Call& call) {
  const int s = call.error.http_status;
  return s >= 400 && s < 500 && s != 401 && s != 403 && s != 408 && s != 429;
}

Status Refused(const std::string& what, const Status& s) {
  return Status::FailedPrecondition("the destination does not take zstd images: " + what + ": " + s.message());
}

Result<Digest> PushBlob(client::RegistryClient& remote, std::string_view repo, const std::string& bytes,
                        std::stop_token stop, bool* verdict) {
  UniqueFd fd(::memfd_create("pier-zstd-probe", 0));
  if (!fd.valid()) return Status::IOError("memfd for the zstd probe");
  if (::write(fd.get(), bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))
    return Status::IOError("writing the zstd probe");
  client::Call call;
  call.stop = stop;
  auto d = remote.UploadBlob(call, repo, Sha256Of(bytes), client::FileSlice{fd.get(), 0, bytes.size()});
  *verdict = !d.ok() && IsVerdict(call);
  return d;
}

}  // namespace

Status ProbeZstd(client::RegistryClient& remote, std::string_view repo, std::stop_token stop) {
  const std::string tar(1024, '\0');  // an empty tar: two zero blocks
  const std::string layer = transcode::ZstdOf(tar);
  const std::string config = nlohmann::json{{"architecture", "amd64"},
                                            {"os", "linux"},
                                            {"rootfs", {{"type", "layers"}, {"diff_ids", {Sha256Of(tar).str()}}}},
                                            {"config", nlohmann::json::object()}}
                                 .dump();
  bool verdict = false;
  auto l = PushBlob(remote, repo, layer, stop, &verdict);
  if (!l.ok()) return verdict ? Refused("uploading a zstd layer", l.status()) : l.status();
  auto c = PushBlob(remote, repo, config, stop, &verdict);
  if (!c.ok()) return verdict ? Refused("uploading its config", c.status()) : c.status();
  auto desc = [](std::string_view mt, const std::string& bytes) {
    return nlohmann::json{{"mediaType", mt}, {"digest", Sha256Of(bytes).str()}, {"size", bytes.size()}};
  };
  const std::string manifest = nlohmann::json{{"schemaVersion", 2},
                                              {"mediaType", media::kOciManifest},
                                              {"config", desc("application/vnd.oci.image.config.v1+json", config)},
                                              {"layers", {desc(kOciLayerZstdType, layer)}},
                                              {"annotations", {{"org.opencontainers.image.title", "pier zstd probe"}}}}
                                   .dump();
  const Digest md = Sha256Of(manifest);
  client::Call put;
  put.stop = stop;
  auto pushed = remote.PutManifest(put, repo, md.str(), media::kOciManifest, manifest);
  if (!pushed.ok()) return IsVerdict(put) ? Refused("putting a manifest with a zstd layer", pushed.status()) : pushed.status();
  client::Call get;
  get.stop = stop;
  auto back = remote.GetManifest(get, repo, md.str());
  if (!back.ok()) return IsVerdict(get) ? Refused("reading the manifest back", back.status()) : back.status();
  auto parsed = ParseManifest(back->media_type, back->bytes);
  if (!parsed.ok() || parsed->blobs.size() != 2 || parsed->blobs[1].media_type != kOciLayerZstdType) {
    return Status::FailedPrecondition("the destination does not take zstd images: the manifest read back is not the one pushed");
  }
  client::Call head;
  head.stop = stop;
  auto size = remote.HeadBlob(head, repo, Sha256Of(layer));
  if (!size.ok()) return IsVerdict(head) ? Refused("the zstd layer is not there after the push", size.status()) : size.status();
  client::Call del;
  del.stop = stop;
  (void)remote.DeleteManifest(del, repo, md);  // best effort: deletes are often off
  return Status::OK();
}

}  // namespace pier::replication
