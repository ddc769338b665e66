#pragma once
// The key pair Pier signs its registry tokens with: an EC P-256 private key
// and a certificate for it. The certificate travels in every token's "x5c"
// header, which is how docker-registry (given the same certificate as its
// `rootcertbundle`) recognises Pier as the issuer.
#include <openssl/evp.h>

#include <filesystem>
#include <memory>
#include <string>

#include "base/status.h"

namespace pier::auth {

class TokenKey {
 public:
  // Loads a PEM private key and a PEM certificate. InvalidArgument naming the
  // file when unreadable, when the key is not EC P-256, or when the
  // certificate is for another key.
  static Result<std::shared_ptr<const TokenKey>> Load(const std::filesystem::path& key_file,
                                                      const std::filesystem::path& cert_file);
  // <dir>/token.key (mode 0600) and <dir>/token.crt: loaded when present,
  // otherwise generated (a fresh P-256 key, a self-signed certificate valid
  // for ten years) and written first, so a restart keeps the same issuer.
  static Result<std::shared_ptr<const TokenKey>> LoadOrCreate(const std::filesystem::path& dir);

  ~TokenKey();
  TokenKey(const TokenKey&) = delete;
  TokenKey& operator=(const TokenKey&) = delete;

  EVP_PKEY* pkey() const { return key_; }
  // Standard base64 of the certificate's DER, the x5c entry.
  const std::string& cert_der_base64() const { return cert_der_base64_; }
  const std::filesystem::path& cert_file() const { return cert_file_; }

 private:
  TokenKey() = default;
  EVP_PKEY* key_ = nullptr;
  std::string cert_der_base64_;
  std::filesystem::path cert_file_;
};

}  // namespace pier::auth
