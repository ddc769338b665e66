#pragma once
// Transcoder: the store's zstd copies of gzip layers, each made once.
//
// A copy is derived data (cache/README.md, "Transcoded layers"): its blob is
// stored unlinked (UploadWriter::MarkDerived: no repository, no quota) and
// the mapping source digest → zstd digest, size, diff_id is a record of its
// own, so the next build, another destination or a retry reuses it.
//
// Promises:
//  - Ensure returns a stored copy: the recorded one while its blob is still
//    in the store, else one made now (GzipToZstd) from the source blob,
//    committed under its verified digest and then recorded; callers asking
//    for one digest at the same time share one transcode;
//  - the record outlives its blob: GC collects an unheld copy like any
//    unlinked blob after its grace period, and a later Ensure makes it again
//    — byte-identical (gzip_zstd.h), so the digest a destination already
//    holds, or an upload of it that was cut, stays valid;
//  - a copy a replication is about to send is Held: GC's pinned("", d)
//    (Pinned) keeps it until the lease ends;
//  - the first copy made wins: `level` only applies when a copy is made (a
//    later policy with another level reuses the existing one rather than
//    sending destinations different digests for one layer);
//  - a copy being made can be followed while it grows (Follow: a
//    GrowingCopy), so replication can upload it before it is finished; a
//    follower never holds up the copy's commit (it reads the upload
//    session's file through its own descriptor, UploadWriter::OpenReader,
//    which stays valid after the commit moved the file).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/digest.h"
#include "base/status.h"
#include "cache/store.h"
#include "cache/transcode/gzip_zstd.h"

namespace pier::transcode {

struct Transcoded {
  Digest source;
  uint64_t source_size = 0;
  Digest digest;  // the zstd blob
  uint64_t size = 0;
  Digest diff_id;
  uint64_t tar_size = 0;
  int level = 0;
  int64_t created_unix = 0;
};

// The output of one transcode while it is being made (Transcoder::Follow).
// Thread-safe. The maker publishes bytes only once they are in the session's
// file (the writer keeps a transcode's file buffered: UploadWriter::
// KeepBuffered), so [0, readable) can be read with pread from fd() at once;
// those bytes never change (a transcode is deterministic and only appends).
class GrowingCopy {
 public:
  GrowingCopy(Digest source, int level) : source_(std::move(source)), level_(level) {}

  struct Seen {
    uint64_t readable = 0;  // bytes [0, readable) are in the file
    bool ended = false;     // no more will come (result() tells how it ended)
  };
  // Waits until more than `offset` bytes are readable or the transcode
  // ended; Unavailable("stopped") on a stop request.
  Result<Seen> Wait(uint64_t offset, std::stop_token stop);
  // The same, giving up at `until` (then what is readable at that time).
  Result<Seen> WaitUntil(uint64_t offset, std::stop_token stop, std::chrono::steady_clock::time_point until);
  // The session file, read-only; -1 before the first bytes are readable.
  int fd() const;
  // Once ended: the copy (committed and recorded), or why it failed (or,
  // rarely, that it could not be followed: no reader descriptor).
  Result<Transcoded> result() const;
  const Digest& source() const { return source_; }
  int level() const { return level_; }

  // The maker's side.
  void Open(UniqueFd fd);
  void Grew(uint64_t readable);
  void End(Result<Transcoded> r);

 private:
  const Digest source_;
  const int level_;
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  UniqueFd fd_;
  std::atomic<int> raw_fd_{-1};
  uint64_t readable_ = 0;
  bool ended_ = false;
  Result<Transcoded> result_ = Status::Internal("not ended");
};

struct TranscoderStats {
  uint64_t transcodes = 0;   // copies made
  uint64_t reused = 0;       // Ensure answered from a stored copy
  uint64_t failures = 0;     // transcodes that failed (corrupt input, I/O, stop)
  uint64_t gzip_bytes = 0;   // read by transcodes
  uint64_t zstd_bytes = 0;   // written by transcodes
  double busy_seconds = 0;   // spent transcoding (wall time, summed over runs)
  int64_t active = 0;        // transcodes running now
  int64_t waiting = 0;       // callers waiting on one
  int64_t queued = 0;        // asked for and not finished, running included (NoteQueued)
};

class Transcoder : public std::enable_shared_from_this<Transcoder> {
 public:
  struct Options {
    int workers = 2;  // zstd threads per transcode (gzip_zstd.h ZstdParams)
    const Clock* clock = &SystemClock();
    // Tests: called on the transcoding thread once a copy's file is open
    // (readable 0), then each time more of it is readable by its followers
    // (source, bytes readable); may block.
    std::function<void(const Digest& source, uint64_t readable)> on_output;
  };
  // Opens (creating on first use) the mapping's key space in `store`.
  static Result<std::shared_ptr<Transcoder>> Open(std::shared_ptr<Store> store, Options options);
  static Result<std::shared_ptr<Transcoder>> Open(std::shared_ptr<Store> store) { return Open(std::move(store), {}); }

  // The recorded copy of `source` (its blob may have been collected since);
  // NotFound when none was ever made.
  Result<Transcoded> Lookup(const Digest& source);

  // A stored zstd copy of the gzip blob `source` that `repo` links.
  // Corruption when the source is not a valid gzip stream (naming the
  // offset); Unavailable("stopped") on a stop request.
  Result<Transcoded> Ensure(std::string_view repo, const Digest& source, int level, std::stop_token stop = {});

  // The copy of `source` being made now (by an Ensure still running),
  // readable while it grows; NotFound when none is running (not started
  // yet, or finished: Lookup then). The follower keeps its GrowingCopy as
  // long as it likes; it ends with Ensure's result.
  Result<std::shared_ptr<GrowingCopy>> Follow(const Digest& source);

  // Keeps the derived blob `d` from GC while the returned lease lives.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& o) noexcept : t_(std::move(o.t_)), key_(std::move(o.key_)) {}
    Lease& operator=(Lease&& o) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { Reset(); }
    void Reset();

   private:
    friend class Transcoder;
    Lease(std::shared_ptr<Transcoder> t, std::string key) : t_(std::move(t)), key_(std::move(key)) {}
    std::shared_ptr<Transcoder> t_;
    std::string key_;
  };
  Lease Hold(const Digest& d);
  // For GcOptions::pinned with repo "": a held derived blob.
  bool Held(const Digest& d) const;

  TranscoderStats Stats() const;
  // zstd bytes per second this store's transcodes at `level` produced
  // (wall time, decompression included), once they produced 8 MiB or more;
  // nullopt before.
  std::optional<double> OutputRate(int level) const;
  // A queue in front of Ensure (replication's TranscodeQueue) says how many
  // transcodes it holds, for the metrics.
  void NoteQueued(int64_t delta);

  Transcoder(std::shared_ptr<Store> store, std::shared_ptr<KvSpace> space, Options options);

 private:
  struct Flight {
    bool done = false;
    Result<Transcoded> result = Status::Internal("not run");
    std::shared_ptr<GrowingCopy> growing;
  };
  Result<Transcoded> Make(std::string_view repo, const Digest& source, int level, std::stop_token stop,
                          GrowingCopy& growing);
  Status Record(const Transcoded& t);

  std::shared_ptr<Store> store_;
  std::shared_ptr<KvSpace> space_;
  Options options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Flight>> flights_;  // by source digest
  std::map<std::string, int> held_;                          // derived digest -> leases
  std::map<int, std::pair<uint64_t, double>> by_level_;      // level -> zstd bytes, seconds
  TranscoderStats stats_;
};

}  // namespace pier::transcode
