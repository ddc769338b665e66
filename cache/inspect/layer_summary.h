#pragma once
// InspectLayer: one pass over an image layer blob that summarises what it
// holds, for the layer advisor (`pier report`). Nothing is unpacked: the
// blob is read once as a stream (LayerStream → WalkTar), memory is bounded
// by the buffers, the zip tail cap and the summary itself (one small record
// per tar entry).
//
// What the summary holds and how it is reckoned:
//  - every tar entry: normalised path, type, size, and for regular files the
//    first 16 bytes of the sha256 of the content (enough to tell files apart
//    across builds, half the memory of a whole digest);
//  - fat JARs: every *.jar / *.war entry is scanned (ZipScanner); those that
//    are Spring Boot fat JARs are reported with their boot layers
//    (spring_boot.h: estimate and fingerprint per layer);
//  - package-manager state left in the layer: apt lists and cache, dpkg
//    status, apk cache and database, yum and dnf caches;
//  - the layer's zstd size at `zstd_level`: by default exact (the tar
//    compressed as one stream: what zstd(1) makes, up to frame headers);
//    with zstd_sample_every = N > 1, estimated from one 1 MiB unit in N as
//    tar_bytes × sampled_zstd / sampled_tar (zstd_sampler.h: how, how close
//    it came, and why exact is the default).
// Errors: the blob's and the tar's (Corruption naming the offset); a jar
// that is not a zip is not an error (its listing says kNone).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "cache/inspect/layer_stream.h"
#include "cache/inspect/spring_boot.h"
#include "cache/inspect/tar_reader.h"
#include "cache/inspect/zip_scan.h"

namespace pier::inspect {

struct InspectOptions {
  int zstd_level = 3;                 // 1..19
  uint32_t zstd_sample_every = 1;  // 1: all (exact); N: one 1 MiB unit in N; 0: none
  size_t zip_tail_cap = kDefaultZipTailCap;
};

struct FileEntry {
  std::string path;
  EntryType type = EntryType::kOther;
  uint64_t size = 0;
  std::string hash;      // 32 hex chars (sha256's first 16 bytes); regular files only
  std::string linkname;  // symlinks and hardlinks
  bool whiteout = false;
  bool operator==(const FileEntry&) const = default;
};

struct FatJar {
  std::string path;
  uint64_t size = 0;
  ZipSource source = ZipSource::kNone;  // where the listing came from
  bool partial = false;
  std::string note;
  bool has_layers_idx = false;
  std::array<BootLayerStats, 4> layers;  // in kBootLayers order

  const BootLayerStats& of(BootLayer l) const { return layers[static_cast<size_t>(l)]; }
};

struct PackageFiles {
  uint64_t files = 0;
  uint64_t bytes = 0;
  bool operator==(const PackageFiles&) const = default;
};

struct PackageState {
  PackageFiles apt_lists;  // var/lib/apt/lists/**
  PackageFiles apt_cache;  // var/cache/apt/**
  bool dpkg_status = false;  // var/lib/dpkg/status
  PackageFiles apk_cache;  // var/cache/apk/**
  bool apk_installed = false;  // lib/apk/db/installed
  PackageFiles yum_cache;  // var/cache/yum/**
  PackageFiles dnf_cache;  // var/cache/dnf/**
  bool operator==(const PackageState&) const = default;
  // Any index or download cache a Dockerfile should have cleaned up.
  bool HasCaches() const { return apt_lists.files + apt_cache.files + apk_cache.files + yum_cache.files + dnf_cache.files > 0; }
};

struct ZstdEstimate {
  int level = 0;              // 0: no estimate made
  uint64_t sampled_tar = 0;   // tar bytes compressed at `level`
  uint64_t sampled_zstd = 0;  // what they compressed to
  uint64_t estimated_size = 0;
  bool exact = false;  // every byte was compressed
};

struct LayerSummary {
  Compression compression = Compression::kNone;
  std::string digest;   // "sha256:..." of the blob
  std::string diff_id;  // "sha256:..." of the tar
  uint64_t compressed_bytes = 0;
  uint64_t tar_bytes = 0;
  std::vector<FileEntry> entries;  // in tar order
  std::vector<FatJar> fat_jars;
  PackageState packages;
  ZstdEstimate zstd;
};

// Reads the blob in `fd` from offset 0 (pread; the fd may be shared).
Result<LayerSummary> InspectLayer(int fd, const InspectOptions& options = {});
Result<LayerSummary> InspectLayer(ByteSource& blob, const InspectOptions& options = {});

// JSON, for the report's cache. from_json throws nlohmann's exceptions;
// LayerSummaryFromJson is the Status-returning form for input from disk.
void to_json(nlohmann::json& j, const LayerSummary& s);
void from_json(const nlohmann::json& j, LayerSummary& s);
Result<LayerSummary> LayerSummaryFromJson(const nlohmann::json& j);

}  // namespace pier::inspect
