#pragma once
// TranscodeQueue: the gzip→zstd transcodes replication asks for, run ahead
// of the link on a thread of their own, in the order asked (an image's
// layers in upload order), so the first layer's upload starts as soon as it
// is ready and the next layers compress while it goes out.
//
// Promises:
//  - Submit never blocks on a transcode; the future answers with
//    Transcoder::Ensure's result (a layer already transcoded answers at
//    once, concurrent asks for one layer share one run);
//  - one transcode at a time (each uses the compressor's own threads:
//    transcode::ZstdParams::workers), so a burst of images does not take
//    every core from pushes and pulls;
//  - a transcode that nobody waits for any more (its execution stopped)
//    still finishes: the copy is kept for the next run;
//  - the destructor stops the one running and answers the rest
//    Unavailable("stopped").
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "cache/transcode/transcoder.h"

namespace pier::replication {

class TranscodeQueue {
 public:
  explicit TranscodeQueue(std::shared_ptr<transcode::Transcoder> transcoder);
  ~TranscodeQueue();
  TranscodeQueue(const TranscodeQueue&) = delete;
  TranscodeQueue& operator=(const TranscodeQueue&) = delete;

  using Future = std::shared_future<Result<transcode::Transcoded>>;
  Future Submit(std::string repo, Digest source, int level);

  // Waits for `f` until it answers or `stop` is requested (Unavailable).
  static Result<transcode::Transcoded> Wait(const Future& f, std::stop_token stop);

  transcode::Transcoder& transcoder() { return *transcoder_; }

 private:
  struct Job {
    std::string repo;
    Digest source;
    int level;
    std::promise<Result<transcode::Transcoded>> promise;
  };
  void Loop(std::stop_token stop);

  std::shared_ptr<transcode::Transcoder> transcoder_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  std::deque<Job> jobs_;
  std::jthread thread_;  // last: starts once the members above exist
};

}  // namespace pier::replication
