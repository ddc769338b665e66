// Loading, and first-start generation, of the token signing key and its
// self-signed certificate.
#include "adapter/auth/token_key.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pier::auth {
namespace {

namespace fs = std::filesystem;

constexpr long kCertValiditySeconds = 10L * 365 * 24 * 3600;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Status Fail(std::string message) {
  ERR_clear_error();
  return Status::InvalidArgument(std::move(message));
}

// Writes `text` to `path` through a temporary file + rename, with `mode`.
Status WriteFileAtomically(const fs::path& path, const std::string& text, mode_t mode) {
  fs::path tmp = path;
  tmp += ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::IOError("create " + tmp.string() + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = Status::IOError("write " + tmp.string() + ": " + std::strerror(errno));
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    return Status::IOError("sync " + tmp.string() + ": " + std::strerror(errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::IOError("rename " + tmp.string() + ": " + std::strerror(errno));
  }
  return Status::OK();
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

Status AddExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return Fail("cannot build certificate extension");
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1 ? Status::OK() : Fail("cannot add certificate extension");
}

// A self-signed CA certificate for `key`; CA:TRUE so verifiers that build a
// chain from the x5c leaf to the configured bundle accept it as its own root.
Result<std::string> SelfSignedCertPem(EVP_PKEY* key) {
  Cert cert(X509_new());
  BIGNUM* serial = BN_new();
  bool ok = cert && serial && X509_set_version(cert.get(), 2) == 1 &&
            BN_rand(serial, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
            BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get())) != nullptr &&
            X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert.get()), kCertValiditySeconds) != nullptr &&
            X509_set_pubkey(cert.get(), key) == 1;
  BN_free(serial);
  if (!ok) return Fail("cannot build token certificate");
  X509_NAME* name = X509_get_subject_name(cert.get());
  const auto* cn = reinterpret_cast<const unsigned char*>("pier token signer");
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1) {
    return Fail("cannot name token certificate");
  }
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "critical,digitalSignature,keyCertSign"},
                            std::pair{NID_subject_key_identifier, "hash"}}) {
    if (Status s = AddExtension(cert.get(), nid, value); !s.ok()) return s;
  }
  if (X509_sign(cert.get(), key, EVP_sha256()) <= 0) return Fail("cannot sign token certificate");
  Bio out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509(out.get(), cert.get()) != 1) return Fail("cannot encode token certificate");
  return BioText(out.get());
}

Result<Pkey> ReadKey(const fs::path& file) {
  Bio in(BIO_new_file(file.c_str(), "r"));
  if (!in) return Fail("cannot read token key " + file.string());
  Pkey key(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr));
  if (!key) return Fail("token key " + file.string() + " is not a PEM private key");
  if (!EVP_PKEY_is_a(key.get(), "EC") || EVP_PKEY_get_bits(key.get()) != 256) {
    return Fail("token key " + file.string() + " must be an EC P-256 key (ES256)");
  }
  return key;
}

}  // namespace

TokenKey::~TokenKey() { EVP_PKEY_free(key_); }

Result<std::shared_ptr<const TokenKey>> TokenKey::Load(const fs::path& key_file, const fs::path& cert_file) {
  Result<Pkey> key = ReadKey(key_file);
  if (!key.ok()) return key.status();
  Bio in(BIO_new_file(cert_file.c_str(), "r"));
  if (!in) return Fail("cannot read token certificate " + cert_file.string());
  Cert cert(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr));
  if (!cert) return Fail("token certificate " + cert_file.string() + " is not a PEM certificate");
  if (X509_check_private_key(cert.get(), key->get()) != 1) {
    return Fail("token certificate " + cert_file.string() + " does not belong to key " + key_file.string());
  }
  unsigned char* der = nullptr;
  int len = i2d_X509(cert.get(), &der);
  if (len <= 0) return Fail("cannot encode token certificate " + cert_file.string());
  std::string b64(4 * ((static_cast<size_t>(len) + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), der, len);
  OPENSSL_free(der);
  b64.resize(static_cast<size_t>(n));

  std::shared_ptr<TokenKey> out(new TokenKey());
  out->key_ = key->release();
  out->cert_der_base64_ = std::move(b64);
  out->cert_file_ = cert_file;
  return std::shared_ptr<const TokenKey>(std::move(out));
}

Result<std::shared_ptr<const TokenKey>> TokenKey::LoadOrCreate(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError("create " + dir.string() + ": " + ec.message());
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  fs::path key_file = dir / "token.key";
  fs::path cert_file = dir / "token.crt";
  // The key is written first, the certificate after: a crash in between
  // leaves a key whose certificate is simply made on the next start.
  if (!fs::exists(key_file)) {
    Pkey key(EVP_EC_gen("P-256"));
    Bio out(BIO_new(BIO_s_mem()));
    if (!key || !out ||
        PEM_write_bio_PrivateKey(out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
      return Fail("cannot generate a token key");
    }
    std::string pem = BioText(out.get());
    Status s = WriteFileAtomically(key_file, pem, 0600);
    OPENSSL_cleanse(pem.data(), pem.size());
    if (!s.ok()) return s;
    fs::remove(cert_file, ec);  // any older certificate is for another key
  }
  if (!fs::exists(cert_file)) {
    Result<Pkey> key = ReadKey(key_file);
    if (!key.ok()) return key.status();
    Result<std::string> pem = SelfSignedCertPem(key->get());
    if (!pem.ok()) return pem.status();
    if (Status s = WriteFileAtomically(cert_file, *pem, 0644); !s.ok()) return s;
  }
  return Load(key_file, cert_file);
}

}  // namespace pier::auth
