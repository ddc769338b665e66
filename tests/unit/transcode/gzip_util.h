#pragma once
// gzip and zstd helpers for the transcode tests: compress with zlib the way
// image builders do, decompress zstd frames, and real bytes from this
// machine (files under /usr/share/doc) so ratios mean something.
#include <zlib.h>
#include <zstd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace pier::testing {

inline std::string Gzip(const std::string& data, int level = 6) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("deflateInit2");
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

inline std::string Unzstd(const std::string& frame) {
  ZSTD_DCtx* d = ZSTD_createDCtx();
  // The decoder's default limit (windowLog 27) stays: a frame that needs
  // more fails here as it would in libzstd clients.
  std::string out;
  std::string buf(ZSTD_DStreamOutSize(), '\0');
  ZSTD_inBuffer in{frame.data(), frame.size(), 0};
  size_t r = 1;
  while (in.pos < in.size) {
    ZSTD_outBuffer o{buf.data(), buf.size(), 0};
    r = ZSTD_decompressStream(d, &o, &in);
    if (ZSTD_isError(r)) {
      ZSTD_freeDCtx(d);
      throw std::runtime_error(ZSTD_getErrorName(r));
    }
    out.append(buf.data(), o.pos);
  }
  ZSTD_freeDCtx(d);
  if (r != 0) throw std::runtime_error("zstd frame is incomplete");
  return out;
}

// About `bytes` of real text: the files under /usr/share/doc, concatenated
// with their names (tar-like: compressible, varied).
inline std::string DocBytes(size_t bytes) {
  std::string out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator("/usr/share/doc", ec);
       it != std::filesystem::recursive_directory_iterator() && out.size() < bytes; it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    std::ifstream f(it->path(), std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    out += it->path().string();
    out.push_back('\0');
    out += ss.str();
  }
  if (out.size() > bytes) out.resize(bytes);
  return out;
}

}  // namespace pier::testing
