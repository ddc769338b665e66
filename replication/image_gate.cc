#include "replication/image_gate.h"

#include <algorithm>

namespace pier::replication {

void ImageGate::Enter(int64_t key, uint64_t bytes, std::stop_token stop, std::function<void()> start) {
  std::vector<std::function<void()>> starts;
  {
    std::lock_guard lock(mu_);
    waiting_.push_back(Waiting{bytes, seq_++, key, std::move(stop), std::move(start)});
    AdmitLocked(starts);
  }
  Run(starts);
}

void ImageGate::Sent(int64_t key, uint64_t n) {
  std::vector<std::function<void()>> starts;
  {
    std::lock_guard lock(mu_);
    auto it = admitted_.find(key);
    if (it == admitted_.end()) return;
    uint64_t d = std::min(n, it->second);
    it->second -= d;
    admitted_total_ -= d;
    AdmitLocked(starts);
  }
  Run(starts);
}

void ImageGate::Leave(int64_t key) {
  std::vector<std::function<void()>> starts;
  {
    std::lock_guard lock(mu_);
    auto it = admitted_.find(key);
    if (it != admitted_.end()) {
      admitted_total_ -= it->second;
      admitted_.erase(it);
    }
    std::erase_if(waiting_, [&](const Waiting& w) { return w.key == key; });
    AdmitLocked(starts);
  }
  Run(starts);
}

void ImageGate::Wake() {
  std::vector<std::function<void()>> starts;
  {
    std::lock_guard lock(mu_);
    AdmitLocked(starts);
  }
  Run(starts);
}

void ImageGate::AdmitLocked(std::vector<std::function<void()>>& out) {
  auto admit = [&](std::vector<Waiting>::iterator it) {
    admitted_[it->key] += it->bytes;
    admitted_total_ += it->bytes;
    out.push_back(std::move(it->start));
    waiting_.erase(it);
  };
  // Stopped images first, whatever the link is doing.
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->stop.stop_requested()) {
      admit(it);
      it = waiting_.begin();
    } else {
      ++it;
    }
  }
  while (!waiting_.empty() && admitted_total_ <= overlap_) {
    auto best = std::min_element(waiting_.begin(), waiting_.end(), [](const Waiting& a, const Waiting& b) {
      return a.bytes != b.bytes ? a.bytes < b.bytes : a.seq < b.seq;
    });
    admit(best);
  }
}

void ImageGate::Run(std::vector<std::function<void()>>& starts) {
  for (auto& s : starts) s();
}

uint64_t ImageGate::admitted_unsent() const {
  std::lock_guard lock(mu_);
  return admitted_total_;
}

size_t ImageGate::waiting() const {
  std::lock_guard lock(mu_);
  return waiting_.size();
}

}  // namespace pier::replication
