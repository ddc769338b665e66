#include "cache/s3/client.h"

#include <openssl/evp.h>

#include <charconv>
#include <ctime>

#include "base/digest.h"
#include "cache/s3/answers.h"
#include "cache/s3/sigv4.h"
#include "cache/s3/times.h"
#include "cache/s3/xml.h"

namespace pier::s3 {

using client::Call;
using client::ErrorKind;
using client::HttpResponse;

// One request: what it is called in messages, what it touches, and how much
// of its answer may be buffered.
struct Client::Op {
  Op(std::string n, std::string m, std::string k = "") : name(std::move(n)), method(std::move(m)), key(std::move(k)) {}
  std::string name;    // "PutObject", "GetObject", ...
  std::string method;  // "PUT", "GET", ...
  std::string key;     // empty: the bucket
  Query query;
  std::vector<std::pair<std::string, std::string>> headers;  // signed, besides host and x-amz-*
  std::string body;
  std::optional<client::FileSlice> file;
  size_t body_limit = 64 * 1024;
};

namespace {

constexpr size_t kListBodyLimit = 8 << 20;
constexpr size_t kDeleteBodyLimit = 1 << 20;
constexpr size_t kDeleteBatch = 1000;

std::string Base64Md5(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_md5(), nullptr);
  unsigned char out[64];
  const int len = EVP_EncodeBlock(out, md, static_cast<int>(n));
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(len));
}

bool ParseU64(std::string_view s, uint64_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

bool IsAuthCode(std::string_view c) {
  return c == "SignatureDoesNotMatch" || c == "InvalidAccessKeyId" || c == "AccessDenied" ||
         c == "RequestTimeTooSkewed" || c == "AuthorizationHeaderMalformed" || c == "ExpiredToken" ||
         c == "InvalidToken" || c == "AccountProblem";
}

bool IsTransientCode(std::string_view c) {
  return c == "SlowDown" || c == "ServiceUnavailable" || c == "InternalError" || c == "RequestTimeout";
}

// See client.h for the table.
std::pair<Code, ErrorKind> Classify(int status, std::string_view s3code) {
  if (IsAuthCode(s3code) || status == 401 || status == 403) return {Code::kFailedPrecondition, ErrorKind::kAuth};
  if (s3code == "SlowDown" || status == 429) return {Code::kUnavailable, ErrorKind::kThrottled};
  if (status == 404) return {Code::kNotFound, ErrorKind::kNotFound};
  if (status >= 500) return {Code::kUnavailable, ErrorKind::kRemote5xx};
  if (IsTransientCode(s3code)) return {Code::kUnavailable, ErrorKind::kRemote5xx};
  if (status == 416) return {Code::kOutOfRange, ErrorKind::kRemote4xx};
  if (s3code == "BucketAlreadyExists") return {Code::kAlreadyExists, ErrorKind::kRemote4xx};
  if (status == 400) return {Code::kInvalidArgument, ErrorKind::kRemote4xx};
  return {Code::kFailedPrecondition, ErrorKind::kRemote4xx};
}

Code TransportCode(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNetwork:
    case ErrorKind::kTimeout:
    case ErrorKind::kCancelled:
      return Code::kUnavailable;
    case ErrorKind::kTls:
      return Code::kFailedPrecondition;
    default:
      return Code::kInternal;
  }
}

Status CheckPartNumber(int number) {
  if (number < 1 || number > kMaxParts) return Status::InvalidArgument("S3 part number must be 1..10000");
  return Status::OK();
}

Status CheckUploadId(std::string_view id) {
  if (id.empty() || id.size() > 1024) return Status::InvalidArgument("S3 upload id is empty or too long");
  for (char c : id) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return Status::InvalidArgument("S3 upload id has a control character");
    }
  }
  return Status::OK();
}

// Content-Range "bytes FIRST-LAST/TOTAL".
bool ParseContentRange(std::string_view v, uint64_t& first, uint64_t& last, uint64_t& total) {
  if (v.substr(0, 6) != "bytes ") return false;
  v.remove_prefix(6);
  const size_t dash = v.find('-'), slash = v.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) return false;
  return ParseU64(v.substr(0, dash), first) && ParseU64(v.substr(dash + 1, slash - dash - 1), last) &&
         ParseU64(v.substr(slash + 1), total) && first <= last && last < total;
}

}  // namespace

Result<std::unique_ptr<Client>> Client::Create(const Config& c) {
  auto addressing = Addressing::Create(c.endpoint, c.bucket, c.path_style);
  if (!addressing.ok()) return addressing.status();
  if (c.region.empty() || c.region.size() > 64 ||
      c.region.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
    return Status::InvalidArgument("region: expected lower-case letters, digits and '-', e.g. us-east-1");
  }
  const auto printable = [](const std::string& s) {
    for (char ch : s) {
      if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7F) return false;
    }
    return !s.empty();
  };
  if (!printable(c.access_key) || c.access_key.find('/') != std::string::npos) {
    return Status::InvalidArgument("access_key: empty or holds spaces, control characters or '/'");
  }
  if (!printable(c.secret_key)) return Status::InvalidArgument("secret_key: empty or holds spaces or control characters");
  if (c.no_progress_timeout_ms <= 0) return Status::InvalidArgument("no_progress_timeout_ms: must be > 0");
  client::TransportOptions options;
  options.ca_pem = c.ca_pem;
  options.no_progress_timeout_ms = c.no_progress_timeout_ms;
  options.user_agent = "pier-s3";
  auto transport = client::Transport::Create(options);
  if (!transport.ok()) return Status::InvalidArgument("ca_pem: " + transport.status().message());
  return std::unique_ptr<Client>(new Client(c, std::move(addressing).value(), std::move(transport).value()));
}

Client::Client(Config config, Addressing addressing, std::unique_ptr<client::Transport> transport)
    : config_(std::move(config)), addressing_(std::move(addressing)), transport_(std::move(transport)) {}

// Printable ASCII of the server's text, bounded, with the secret (should a
// store ever echo it) cut out.
std::string Client::Clean(std::string_view text) const {
  std::string out;
  for (char c : text.substr(0, 300)) out += (c >= 0x20 && c < 0x7F) ? c : '?';
  for (size_t at; !config_.secret_key.empty() && (at = out.find(config_.secret_key)) != std::string::npos;) {
    out.replace(at, config_.secret_key.size(), "<secret>");
  }
  return out;
}

Status Client::Describe(const Op& op, Code code, std::string_view what) const {
  std::string where = op.key.empty() ? " bucket '" + addressing_.bucket() + "'" : " '" + op.key + "'";
  return Status(code, "S3 " + op.name + where + ": " + std::string(what));
}

Status Client::FromAnswer(const Op& op, int http_status, std::string_view body, Call& call) const {
  const std::optional<S3Error> e = ParseError(body);
  const std::string s3code = e ? Clean(e->code) : "";
  auto [code, kind] = Classify(http_status, s3code);
  call.error.kind = kind;
  call.error.http_status = http_status;
  call.error.registry_code = s3code;
  std::string what = "HTTP " + std::to_string(http_status);
  if (!s3code.empty()) what += " " + s3code;
  if (e && !e->message.empty()) what += ": " + Clean(e->message);
  return Describe(op, code, what);
}

Result<HttpResponse> Client::Send(const Op& op, Call& call, const client::BodySink* sink) {
  call.error = client::ClientError();
  const Target target = addressing_.For(op.key, op.query);
  const std::string amz_date = FormatAmzDate(static_cast<int64_t>(std::time(nullptr)));
  SignRequest sign{op.method, target.sign_path, op.query, op.headers,
                   op.file ? std::string(kUnsignedPayload) : Sha256Of(op.body).hex};
  sign.headers.emplace_back("x-amz-date", amz_date);
  sign.headers.emplace_back("host", target.url.HostHeader());
  const std::string authorization = Authorize({config_.access_key, config_.secret_key}, config_.region, sign);

  client::HttpRequest req;
  req.method = op.method;
  req.url = target.url;
  for (auto& h : sign.headers) {
    if (h.first != "host") req.headers.push_back(h);  // the transport writes Host itself
  }
  req.headers.emplace_back("Authorization", authorization);
  req.body = op.body;
  req.file = op.file;
  req.body_limit = op.body_limit;
  auto r = transport_->Send(req, call, sink);
  if (!r.ok()) {
    // A sink's or file's own failure keeps its code; the transport's become
    // Unavailable (network, timeout, cancelled) or Internal (bad answers).
    const Code code = call.error.kind == ErrorKind::kLocal ? r.status().code() : TransportCode(call.error.kind);
    return Describe(op, code, Clean(r.status().message()));
  }
  if (r->status / 100 != 2) return FromAnswer(op, r->status, r->body, call);
  return r;
}

Result<std::string> Client::PartEtag(const Op& op, const HttpResponse& r) const {
  std::string etag = StripQuotes(r.Header("etag"));
  if (etag.empty()) return Describe(op, Code::kInternal, "answer without an ETag");
  return etag;
}

Status Client::CreateBucket(Call& call) {
  Op op{"CreateBucket", "PUT"};
  // us-east-1 is the default location; any other must be named (AWS).
  if (config_.region != "us-east-1") {
    op.body = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>" +
              config_.region + "</LocationConstraint></CreateBucketConfiguration>";
  }
  auto r = Send(op, call);
  if (!r.ok() && call.error.registry_code == "BucketAlreadyOwnedByYou") {
    call.error = client::ClientError();
    return Status::OK();
  }
  return r.status();
}

Status Client::Put(std::string_view key, std::string_view body, Call& call) {
  PIER_TRY(ValidateKey(key));
  Op op{"PutObject", "PUT", std::string(key)};
  op.body = std::string(body);
  return Send(op, call).status();
}

Status Client::PutFile(std::string_view key, client::FileSlice body, Call& call) {
  PIER_TRY(ValidateKey(key));
  Op op{"PutObject", "PUT", std::string(key)};
  op.file = body;
  return Send(op, call).status();
}

Result<ObjectInfo> Client::Head(std::string_view key, Call& call) {
  PIER_TRY(ValidateKey(key));
  Op op{"HeadObject", "HEAD", std::string(key)};
  auto r = Send(op, call);
  if (!r.ok()) return r.status();
  ObjectInfo info;
  info.key = std::string(key);
  if (!ParseU64(r->Header("content-length"), info.size)) return Describe(op, Code::kInternal, "no Content-Length");
  info.etag = StripQuotes(r->Header("etag"));
  info.last_modified_unix = ParseHttpDate(r->Header("last-modified")).value_or(0);
  return info;
}

Result<ObjectInfo> Client::Get(std::string_view key, uint64_t offset, std::optional<uint64_t> length,
                               const client::BodySink& sink, Call& call) {
  PIER_TRY(ValidateKey(key));
  if (length && *length == 0) return Head(key, call);
  if (length && *length > UINT64_MAX - offset) return Status::InvalidArgument("S3 GetObject: range overflows");
  Op op{"GetObject", "GET", std::string(key)};
  const bool ranged = offset > 0 || length.has_value();
  if (ranged) {
    op.headers.emplace_back("Range", "bytes=" + std::to_string(offset) + "-" +
                                         (length ? std::to_string(offset + *length - 1) : ""));
  }
  ObjectInfo info;
  info.key = std::string(key);
  uint64_t expected = 0;  // body bytes the answer announced
  bool started = false;
  uint64_t delivered = 0;
  // Reads the answer's head: where the bytes sit in the object, its size.
  auto read_head = [&](const HttpResponse& h) -> Status {
    info.etag = StripQuotes(h.Header("etag"));
    info.last_modified_unix = ParseHttpDate(h.Header("last-modified")).value_or(0);
    if (h.status == 206) {
      uint64_t first = 0, last = 0;
      if (!ParseContentRange(h.Header("content-range"), first, last, info.size) || first != offset ||
          (length && last - first + 1 > *length)) {
        return Describe(op, Code::kInternal, "bad Content-Range '" + Clean(h.Header("content-range")) + "'");
      }
      expected = last - first + 1;
    } else {
      if (!ParseU64(h.Header("content-length"), info.size)) return Describe(op, Code::kInternal, "no Content-Length");
      // A store may answer a range that covers the whole object with 200.
      if (offset != 0 || (length && *length < info.size)) {
        return Describe(op, Code::kInternal, "the store ignored the Range header");
      }
      expected = info.size;
    }
    call.blob_size = info.size;
    return Status::OK();
  };
  client::BodySink wrapped = [&](const HttpResponse& h, std::span<const char> data) -> Status {
    if (!started) {
      PIER_TRY(read_head(h));
      started = true;
    }
    delivered += data.size();
    if (delivered > expected) return Describe(op, Code::kInternal, "answer longer than announced");
    return sink(h, data);
  };
  auto r = Send(op, call, &wrapped);
  if (!r.ok()) return r.status();
  if (!started) PIER_TRY(read_head(*r));  // an empty body never reached the sink
  if (delivered != expected) {
    return Describe(op, Code::kInternal,
                    "answer ended after " + std::to_string(delivered) + " of " + std::to_string(expected) + " bytes");
  }
  return info;
}

Result<std::string> Client::GetSmall(std::string_view key, size_t limit, Call& call) {
  std::string out;
  client::BodySink sink = [&](const HttpResponse&, std::span<const char> data) -> Status {
    if (data.size() > limit - out.size()) {
      return Status::OutOfRange("S3 GetObject '" + std::string(key) + "': larger than " + std::to_string(limit) +
                                " bytes");
    }
    out.append(data.data(), data.size());
    return Status::OK();
  };
  auto info = Get(key, 0, std::nullopt, sink, call);
  if (!info.ok()) return info.status();
  return out;
}

Status Client::Delete(std::string_view key, Call& call) {
  PIER_TRY(ValidateKey(key));
  Op op{"DeleteObject", "DELETE", std::string(key)};
  auto r = Send(op, call);
  if (!r.ok() && r.status().code() == Code::kNotFound && call.error.registry_code == "NoSuchKey") {
    call.error = client::ClientError();
    return Status::OK();
  }
  return r.status();
}

Status Client::DeleteMany(const std::vector<std::string>& keys, Call& call) {
  for (const std::string& k : keys) PIER_TRY(ValidateKey(k));
  for (size_t start = 0; start < keys.size(); start += kDeleteBatch) {
    const size_t end = std::min(keys.size(), start + kDeleteBatch);
    Op op{"DeleteObjects", "POST"};
    op.query = {{"delete", ""}};
    op.body = "<Delete><Quiet>true</Quiet>";
    for (size_t i = start; i < end; ++i) op.body += "<Object><Key>" + xml::Escape(keys[i]) + "</Key></Object>";
    op.body += "</Delete>";
    op.headers = {{"Content-MD5", Base64Md5(op.body)}, {"Content-Type", "application/xml"}};
    op.body_limit = kDeleteBodyLimit;
    auto r = Send(op, call);
    if (!r.ok()) return r.status();
    auto errors = ParseDeleteErrors(r->body);
    if (!errors.ok()) return Describe(op, Code::kInternal, errors.status().message());
    for (const S3Error& e : *errors) {
      if (e.code == "NoSuchKey") continue;  // already gone: what we wanted
      auto [code, kind] = Classify(0, e.code);
      call.error.kind = kind;
      call.error.http_status = r->status;
      call.error.registry_code = Clean(e.code);
      return Describe(op, code,
                      "'" + Clean(e.key) + "': " + Clean(e.code) + (e.message.empty() ? "" : ": " + Clean(e.message)) +
                          " (" + std::to_string(errors->size()) + " of " + std::to_string(end - start) +
                          " keys in the batch refused)");
    }
  }
  return Status::OK();
}

Result<ListPage> Client::List(std::string_view prefix, std::string_view token, int max_keys, Call& call) {
  PIER_TRY(ValidatePrefix(prefix));
  if (max_keys < 1 || max_keys > 1000) return Status::InvalidArgument("S3 ListObjectsV2: max_keys must be 1..1000");
  if (token.size() > 4096) return Status::InvalidArgument("S3 ListObjectsV2: continuation token too long");
  Op op{"ListObjectsV2", "GET"};
  op.query = {{"list-type", "2"}, {"max-keys", std::to_string(max_keys)}};
  if (!prefix.empty()) op.query.emplace_back("prefix", std::string(prefix));
  if (!token.empty()) op.query.emplace_back("continuation-token", std::string(token));
  op.body_limit = kListBodyLimit;
  auto r = Send(op, call);
  if (!r.ok()) return r.status();
  auto page = ParseListV2(r->body);
  if (!page.ok()) return Describe(op, Code::kInternal, page.status().message());
  return page;
}

Result<std::string> Client::CreateMultipart(std::string_view key, Call& call) {
  PIER_TRY(ValidateKey(key));
  Op op{"CreateMultipartUpload", "POST", std::string(key)};
  op.query = {{"uploads", ""}};
  auto r = Send(op, call);
  if (!r.ok()) return r.status();
  auto id = ParseUploadId(r->body);
  if (!id.ok()) return Describe(op, Code::kInternal, id.status().message());
  return id;
}

Result<std::string> Client::UploadPart(std::string_view key, std::string_view upload_id, int number,
                                       std::string_view body, Call& call) {
  PIER_TRY(ValidateKey(key));
  PIER_TRY(CheckUploadId(upload_id));
  PIER_TRY(CheckPartNumber(number));
  Op op{"UploadPart", "PUT", std::string(key)};
  op.query = {{"partNumber", std::to_string(number)}, {"uploadId", std::string(upload_id)}};
  op.body = std::string(body);
  auto r = Send(op, call);
  if (!r.ok()) return r.status();
  return PartEtag(op, *r);
}

Result<std::string> Client::UploadPartFile(std::string_view key, std::string_view upload_id, int number,
                                           client::FileSlice body, Call& call) {
  PIER_TRY(ValidateKey(key));
  PIER_TRY(CheckUploadId(upload_id));
  PIER_TRY(CheckPartNumber(number));
  Op op{"UploadPart", "PUT", std::string(key)};
  op.query = {{"partNumber", std::to_string(number)}, {"uploadId", std::string(upload_id)}};
  op.file = body;
  auto r = Send(op, call);
  if (!r.ok()) return r.status();
  return PartEtag(op, *r);
}

Result<std::string> Client::UploadPartCopy(std::string_view key, std::string_view upload_id, int number,
                                           std::string_view source_key, uint64_t offset, uint64_t length,
                                           Call& call) {
  PIER_TRY(ValidateKey(key));
  PIER_TRY(ValidateKey(source_key));
  PIER_TRY(CheckUploadId(upload_id));
  PIER_TRY(CheckPartNumber(number));
  if (length == 0 || length > UINT64_MAX - offset) return Status::InvalidArgument("S3 UploadPartCopy: bad range");
  Op op{"UploadPartCopy", "PUT", std::string(key)};
  op.query = {{"partNumber", std::to_string(number)}, {"uploadId", std::string(upload_id)}};
  op.headers = {{"x-amz-copy-source", addressing_.CopySource(source_key)},
                {"x-amz-copy-source-range",
                 "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1)}};
  auto r = Send(op, call);
  if (!r.ok()) return r.status();
  if (ParseError(r->body)) return FromAnswer(op, r->status, r->body, call);
  auto etag = ParseCopyEtag(r->body);
  if (!etag.ok()) return Describe(op, Code::kInternal, etag.status().message());
  return etag;
}

Status Client::CompleteMultipart(std::string_view key, std::string_view upload_id, const std::vector<Part>& parts,
                                 Call& call) {
  PIER_TRY(ValidateKey(key));
  PIER_TRY(CheckUploadId(upload_id));
  if (parts.empty()) return Status::InvalidArgument("S3 CompleteMultipartUpload: no parts");
  Op op{"CompleteMultipartUpload", "POST", std::string(key)};
  op.query = {{"uploadId", std::string(upload_id)}};
  op.body = "<CompleteMultipartUpload>";
  int previous = 0;
  for (const Part& p : parts) {
    PIER_TRY(CheckPartNumber(p.number));
    if (p.number <= previous) return Status::InvalidArgument("S3 CompleteMultipartUpload: parts not in ascending order");
    previous = p.number;
    const std::string etag = StripQuotes(p.etag);
    if (etag.empty()) return Status::InvalidArgument("S3 CompleteMultipartUpload: a part without an ETag");
    op.body += "<Part><PartNumber>" + std::to_string(p.number) + "</PartNumber><ETag>\"" + xml::Escape(etag) +
               "\"</ETag></Part>";
  }
  op.body += "</CompleteMultipartUpload>";
  op.headers = {{"Content-Type", "application/xml"}};
  auto r = Send(op, call);
  if (!r.ok()) return r.status();
  // 200 with an <Error> body: the store failed after it started answering.
  if (ParseError(r->body)) return FromAnswer(op, r->status, r->body, call);
  auto doc = xml::Parse(r->body);
  if (!doc.ok() || doc->name != "CompleteMultipartUploadResult") {
    return Describe(op, Code::kInternal, "answer is not a CompleteMultipartUploadResult");
  }
  return Status::OK();
}

Status Client::AbortMultipart(std::string_view key, std::string_view upload_id, Call& call) {
  PIER_TRY(ValidateKey(key));
  PIER_TRY(CheckUploadId(upload_id));
  Op op{"AbortMultipartUpload", "DELETE", std::string(key)};
  op.query = {{"uploadId", std::string(upload_id)}};
  auto r = Send(op, call);
  if (!r.ok() && call.error.registry_code == "NoSuchUpload") {
    call.error = client::ClientError();
    return Status::OK();
  }
  return r.status();
}

Status Client::Copy(std::string_view source_key, std::string_view dest_key, Call& call) {
  PIER_TRY(ValidateKey(source_key));
  PIER_TRY(ValidateKey(dest_key));
  Op op{"CopyObject", "PUT", std::string(dest_key)};
  op.headers = {{"x-amz-copy-source", addressing_.CopySource(source_key)}};
  auto r = Send(op, call);
  if (!r.ok()) return r.status();
  if (ParseError(r->body)) return FromAnswer(op, r->status, r->body, call);
  auto etag = ParseCopyEtag(r->body);
  if (!etag.ok()) return Describe(op, Code::kInternal, etag.status().message());
  return Status::OK();
}

std::string Client::PresignGet(std::string_view key, int expires_seconds, int64_t now_unix) const {
  return PresignGetAt(key, expires_seconds, FormatAmzDate(now_unix));
}

std::string Client::PresignGetAt(std::string_view key, int expires_seconds, std::string_view amz_date) const {
  if (!ValidateKey(key).ok() || expires_seconds < 1 || expires_seconds > kMaxPresignSeconds) return "";
  const std::string date(amz_date.substr(0, 8));
  Query query = {{"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
                 {"X-Amz-Credential", config_.access_key + "/" + date + "/" + config_.region + "/s3/aws4_request"},
                 {"X-Amz-Date", std::string(amz_date)},
                 {"X-Amz-Expires", std::to_string(expires_seconds)},
                 {"X-Amz-SignedHeaders", "host"}};
  Target t = addressing_.For(key, query);
  // Only the host is signed and the payload is not (the URL's holder sends
  // no body and whatever other headers it likes).
  SignRequest r{"GET", t.sign_path, query, {{"host", t.url.HostHeader()}}, std::string(kUnsignedPayload)};
  const std::string sts = StringToSign(amz_date, config_.region, CanonicalRequest(r));
  const std::string signature = Signature({config_.access_key, config_.secret_key}, date, config_.region, sts);
  t.url.AddQuery("X-Amz-Signature", signature);
  return t.url.str();
}

}  // namespace pier::s3
