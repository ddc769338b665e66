// WalkTar against python's tarfile and the files themselves: every entry of
// a real layer with its type, size, link and content; GNU and pax long
// names, pax global headers, base-256 sizes, whiteouts; and damaged tars
// refused with the tar offset.
#include "cache/inspect/tar_reader.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "base/file.h"
#include "tests/unit/inspect/fixtures.h"

namespace pier::inspect {
namespace {

namespace fs = std::filesystem;
using pier::testing::PyTarListing;
using pier::testing::Quote;
using pier::testing::ReadFile;
using pier::testing::Sh;
using pier::testing::TempDir;
using pier::testing::TheDocLayer;
using pier::testing::WriteFile;

struct Seen {
  TarEntry entry;
  std::string content;
};

// Every entry, with its whole content, or (every third file) only its first
// bytes so the walker has to skip the rest.
Result<std::vector<Seen>> Walk(const std::string& tar, bool skip_some = false) {
  MemorySource src(tar);
  std::vector<Seen> out;
  Status s = WalkTar(src, [&](const TarEntry& e, EntryContent& c) -> Status {
    Seen seen{e, {}};
    char buf[4096];
    const bool partly = skip_some && out.size() % 3 == 0;
    for (;;) {
      Result<size_t> n = c.Read(std::span<char>(buf, partly ? 100 : sizeof buf));
      PIER_TRY(n);
      if (*n == 0) break;
      seen.content.append(buf, *n);
      if (partly) break;
    }
    out.push_back(std::move(seen));
    return Status::OK();
  });
  PIER_TRY(s);
  return out;
}

std::string PyNormalised(std::string name) {
  while (name.starts_with("./")) name.erase(0, 2);
  if (name.empty() || name == ".") return ".";
  return name;
}

EntryType TypeOf(const std::string& flag) {
  if (flag == "0" || flag == "7") return EntryType::kFile;
  if (flag == "5") return EntryType::kDir;
  if (flag == "2") return EntryType::kSymlink;
  if (flag == "1") return EntryType::kHardlink;
  return EntryType::kOther;
}

void ExpectSameAsPython(const std::vector<Seen>& seen, const nlohmann::json& py) {
  ASSERT_EQ(seen.size(), py.size());
  for (size_t i = 0; i < seen.size(); ++i) {
    const TarEntry& e = seen[i].entry;
    EXPECT_EQ(e.path, PyNormalised(py[i][0])) << i;
    EXPECT_EQ(e.type, TypeOf(py[i][1])) << e.path;
    if (e.type == EntryType::kFile) {
      EXPECT_EQ(e.size, py[i][2].get<uint64_t>()) << e.path;
    }
    EXPECT_EQ(e.linkname, py[i][3].get<std::string>()) << e.path;
  }
}

TEST(TarReader, EveryEntryOfARealLayerAsTarfileAndTheFilesSayIt) {
  const auto& layer = TheDocLayer();
  const std::string tar = ReadFile(layer.tar);
  Result<std::vector<Seen>> seen = Walk(tar);
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  ExpectSameAsPython(*seen, PyTarListing(layer.tar));
  ASSERT_EQ(seen->size(), layer.paths.size());
  size_t files = 0, dirs = 0, links = 0;
  for (size_t i = 0; i < seen->size(); ++i) {
    const TarEntry& e = (*seen)[i].entry;
    EXPECT_EQ("/" + e.path, layer.paths[i]);
    const fs::file_status st = fs::symlink_status(layer.paths[i]);
    if (fs::is_regular_file(st)) {
      ++files;
      ASSERT_EQ(e.type, EntryType::kFile) << e.path;
      EXPECT_EQ(e.size, fs::file_size(layer.paths[i])) << e.path;
      EXPECT_TRUE((*seen)[i].content == ReadFile(layer.paths[i])) << e.path;
    } else if (fs::is_directory(st)) {
      ++dirs;
      EXPECT_EQ(e.type, EntryType::kDir) << e.path;
    } else if (fs::is_symlink(st)) {
      ++links;
      EXPECT_EQ(e.type, EntryType::kSymlink) << e.path;
      EXPECT_EQ(e.linkname, fs::read_symlink(layer.paths[i]).string()) << e.path;
    }
  }
  EXPECT_GT(files, 100u);
  EXPECT_GT(dirs, 10u);
}

TEST(TarReader, ContentLeftUnreadIsSkipped) {
  const std::string tar = ReadFile(TheDocLayer().tar);
  Result<std::vector<Seen>> all = Walk(tar);
  Result<std::vector<Seen>> some = Walk(tar, true);
  ASSERT_TRUE(all.ok() && some.ok());
  ASSERT_EQ(all->size(), some->size());
  for (size_t i = 0; i < all->size(); ++i) {
    EXPECT_EQ((*all)[i].entry.path, (*some)[i].entry.path);
    EXPECT_TRUE((*all)[i].content.starts_with((*some)[i].content));
  }
}

// A tree with what layers hold beyond plain files: long names and link
// targets, hardlinks, whiteouts.
fs::path OddTree(const fs::path& root) {
  const fs::path t = root / "tree";
  std::string deep = "usr/lib/jvm/some-really-long-vendor-directory-name-for-a-jdk/lib/modules-with-a-long-name";
  deep += "/and-a-file-whose-name-alone-is-long-enough-to-need-the-extension.txt";
  WriteFile(t / deep, ReadFile("/usr/share/doc/zstd/copyright") + "x");
  fs::create_directories(t / "etc");
  fs::create_symlink("/" + deep, t / "etc/long-link");
  fs::create_hard_link(t / deep, t / "etc/hard");
  WriteFile(t / "var/.wh.gone", "");
  WriteFile(t / "opt/app/.wh..wh..opq", "");
  return t;
}

TEST(TarReader, GnuAndPaxLongNamesLinksAndWhiteouts) {
  TempDir dir;
  const fs::path tree = OddTree(dir.path());
  for (const char* format : {"gnu", "posix"}) {
    const fs::path tar = dir.path() / (std::string(format) + ".tar");
    int rc = 0;
    Sh("tar --format=" + std::string(format) + " -cf " + Quote(tar) + " -C " + Quote(tree) + " .", &rc);
    ASSERT_EQ(rc, 0);
    Result<std::vector<Seen>> seen = Walk(ReadFile(tar));
    ASSERT_TRUE(seen.ok()) << format << ": " << seen.status().ToString();
    ExpectSameAsPython(*seen, PyTarListing(tar));
    bool long_file = false, whiteout = false, opaque = false, hard = false, link = false;
    for (const Seen& s : *seen) {
      const TarEntry& e = s.entry;
      EXPECT_FALSE(e.path.starts_with("./") || e.path.starts_with("/")) << e.path;
      if (e.path.ends_with("long-enough-to-need-the-extension.txt")) {
        // The first of the two hardlinked names tar meets holds the content.
        long_file = e.path.size() > 100 && (e.type == EntryType::kHardlink || s.content == ReadFile(tree / e.path));
      }
      if (e.path == "var/.wh.gone") whiteout = e.whiteout && !e.opaque;
      if (e.path == "opt/app/.wh..wh..opq") opaque = e.whiteout && e.opaque;
      if (e.path == "etc/long-link") link = e.type == EntryType::kSymlink && e.linkname.size() > 100;
      if (e.type == EntryType::kHardlink) hard = !e.linkname.empty() && e.size == 0 && s.content.empty();
    }
    EXPECT_TRUE(long_file) << format;
    EXPECT_TRUE(whiteout) << format;
    EXPECT_TRUE(opaque) << format;
    EXPECT_TRUE(link) << format;
    EXPECT_TRUE(hard) << format;
  }
}

TEST(TarReader, PaxGlobalHeaderAndPaxSize) {
  TempDir dir;
  const fs::path tar = dir.path() / "g.tar";
  // python writes a 'g' header for pax_headers, and a per-file 'x' size
  // record when asked to.
  const std::string py = R"PY(
import io, sys, tarfile
t = tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT, pax_headers={'comment': 'built by the test'})
data = open('/usr/share/doc/zstd/copyright', 'rb').read()
i = tarfile.TarInfo('a/' + 'n' * 150)
i.size = len(data)
i.pax_headers = {'size': str(len(data))}
t.addfile(i, io.BytesIO(data))
j = tarfile.TarInfo('b/short')
j.size = 3
t.addfile(j, io.BytesIO(b'abc'))
t.close()
)PY";
  WriteFile(dir.path() / "g.py", py);
  int rc = 0;
  Sh("python3 " + Quote(dir.path() / "g.py") + " " + Quote(tar), &rc);
  ASSERT_EQ(rc, 0);
  ASSERT_NE(ReadFile(tar).find("built by the test"), std::string::npos) << "no global header was written";
  Result<std::vector<Seen>> seen = Walk(ReadFile(tar));
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  ASSERT_EQ(seen->size(), 2u);
  EXPECT_EQ((*seen)[0].entry.path, "a/" + std::string(150, 'n'));
  EXPECT_EQ((*seen)[0].content, ReadFile("/usr/share/doc/zstd/copyright"));
  EXPECT_EQ((*seen)[1].entry.path, "b/short");
  EXPECT_EQ((*seen)[1].content, "abc");
}

TEST(TarReader, Base256Size) {
  TempDir dir;
  WriteFile(dir.path() / "f", "hello, base-256\n");
  const fs::path tar = dir.path() / "b.tar";
  int rc = 0;
  Sh("tar --format=gnu -cf " + Quote(tar) + " -C " + Quote(dir.path()) + " f", &rc);
  ASSERT_EQ(rc, 0);
  std::string t = ReadFile(tar);
  // The size field (12 bytes at 124) as GNU's base-256: 0x80, then big-endian.
  std::string field(12, '\0');
  field[0] = static_cast<char>(0x80);
  field[11] = 16;
  t.replace(124, 12, field);
  unsigned sum = 0;
  t.replace(148, 8, "        ");
  for (int i = 0; i < 512; ++i) sum += static_cast<unsigned char>(t[i]);
  char chk[8];
  std::snprintf(chk, sizeof chk, "%06o", sum);
  t.replace(148, 7, std::string(chk, 6) + '\0');
  WriteFile(tar, t);
  ASSERT_NE(Sh("tar -tvf " + Quote(tar) + " 2>&1", &rc).find(" 16 "), std::string::npos) << "GNU tar reads it otherwise";
  Result<std::vector<Seen>> seen = Walk(t);
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  ASSERT_EQ(seen->size(), 1u);
  EXPECT_EQ((*seen)[0].entry.size, 16u);
  EXPECT_EQ((*seen)[0].content, "hello, base-256\n");
}

TEST(TarReader, DamageIsNamedWithItsTarOffset) {
  const auto& layer = TheDocLayer();
  const std::string tar = ReadFile(layer.tar);
  const nlohmann::json py = PyTarListing(layer.tar);
  // A member with content, well inside the archive.
  size_t k = py.size() / 2;
  while (py[k][2].get<uint64_t>() < 2000) ++k;
  const uint64_t header = py[k][4], data = py[k][5];

  std::string bad = tar;
  bad[header + 10] ^= 0x20;  // in the name: the checksum no longer adds up
  Result<std::vector<Seen>> r = Walk(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_EQ(r.status().message(), "tar header checksum mismatch at tar byte " + std::to_string(header));

  r = Walk(tar.substr(0, data + 1000));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "tar stream ends inside an entry's content at tar byte " + std::to_string(data + 1000));

  r = Walk(tar.substr(0, header + 100));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "tar stream ends inside a header at tar byte " + std::to_string(header));

  r = Walk(std::string(4096, 'x'));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "tar header checksum mismatch at tar byte 0");
}

TEST(TarReader, PathsAreNormalised) {
  EXPECT_EQ(NormalisePath("./a/b/"), "a/b");
  EXPECT_EQ(NormalisePath("/a"), "a");
  EXPECT_EQ(NormalisePath(".//./a"), "a");
  EXPECT_EQ(NormalisePath("./"), ".");
  EXPECT_EQ(NormalisePath("/"), ".");
}

}  // namespace
}  // namespace pier::inspect
