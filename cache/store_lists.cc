// Listings: tags, repositories (catalog), referrers. All are prefix scans
// in key order, so results come out sorted lexically.
#include "cache/keys.h"
#include "cache/store_impl.h"

namespace pier::internal {
namespace {

// Collects up to n items (0: all); one more item found sets `more`.
class PageBuilder {
 public:
  explicit PageBuilder(size_t n) : n_(n) {}
  // Returns false when the page is full and the scan can stop.
  bool Add(std::string_view item) {
    if (n_ != 0 && page_.items.size() == n_) {
      page_.more = true;
      return false;
    }
    page_.items.emplace_back(item);
    return true;
  }
  Page Take() { return std::move(page_); }

 private:
  size_t n_;
  Page page_;
};

}  // namespace

Result<Page> StoreImpl::ListTags(std::string_view repo, std::string_view last, size_t n) {
  if (Status s = CheckRepo(repo); !s.ok()) return s;
  const std::string prefix = keys::Prefix(repo);
  const std::string after = last.empty() ? std::string() : keys::Join(repo, last);
  PageBuilder page(n);
  Status s = st_->db->Scan(Cf::kTags, prefix, after, [&](std::string_view key, std::string_view) {
    return page.Add(key.substr(prefix.size()));
  });
  if (!s.ok()) return s;
  return page.Take();
}

Result<Page> StoreImpl::ListRepositories(std::string_view last, size_t n,
                                         const std::function<bool(std::string_view)>& visible) {
  PageBuilder page(n);
  Status s = st_->db->Scan(Cf::kRepos, "", last, [&](std::string_view key, std::string_view) {
    if (visible && !visible(key)) return true;
    return page.Add(key);
  });
  if (!s.ok()) return s;
  return page.Take();
}

bool StoreImpl::RepositoryExists(std::string_view repo) {
  auto present = st_->db->Has(Cf::kRepos, repo);
  return present.ok() && *present;
}

Result<std::vector<Descriptor>> StoreImpl::ListReferrers(std::string_view repo, const Digest& subject,
                                                         std::string_view artifact_type) {
  if (Status s = CheckRepo(repo); !s.ok()) return s;
  std::vector<Descriptor> out;
  Status s = st_->db->Scan(Cf::kReferrers, keys::Prefix(keys::Join(repo, subject.str())), "",
                           [&](std::string_view, std::string_view value) {
                             // A damaged entry is skipped here and reported by Fsck.
                             auto d = ParseDescriptorJson(value);
                             if (d.ok() && (artifact_type.empty() || d->artifact_type == artifact_type)) {
                               out.push_back(std::move(d).value());
                             }
                             return true;
                           });
  if (!s.ok()) return s;
  return out;
}

}  // namespace pier::internal
