#pragma once
// Real inputs for the inspect tests, made from this machine's files with the
// tools users have (tar, gzip, zstd, python3's zipfile: scripts/deps.sh
// installs them): a layer of /usr/share/doc, Spring-Boot-shaped fat JARs
// from Debian's jars in /usr/share/java, and the tools' own view of them
// (the expected values never come from the code under test).
#include <stdio.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/digest.h"
#include "tests/unit/common/temp_dir.h"

namespace pier::testing {

namespace fs = std::filesystem;

// Runs `cmd` with sh; its stdout, and its exit status in *status.
inline std::string Sh(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) {
    if (status) *status = -1;
    return out;
  }
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const int rc = ::pclose(f);
  if (status) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

inline std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The tar's members as python's tarfile reads them, in order:
// [name, type flag, size, linkname, header offset, content offset].
inline nlohmann::json PyTarListing(const fs::path& tar) {
  const std::string py =
      "import json,sys,tarfile\n"
      "t=tarfile.open(sys.argv[1])\n"
      "print(json.dumps([[m.name,m.type.decode(),m.size,m.linkname,m.offset,m.offset_data] for m in t]))\n";
  WriteFile(tar.string() + ".py", py);
  return nlohmann::json::parse(Sh("python3 " + Quote(tar.string() + ".py") + " " + Quote(tar.string())));
}

// The zip's own listing (python reads the central directory):
// [[name, compressed_size, size, crc32, method], ...] in the zip's order.
inline nlohmann::json PyZipListing(const fs::path& zip) {
  const std::string py =
      "import json,sys,zipfile\n"
      "z=zipfile.ZipFile(sys.argv[1])\n"
      "print(json.dumps([[i.filename,i.compress_size,i.file_size,i.CRC,i.compress_type] for i in z.infolist()]))\n";
  WriteFile(zip.string() + ".py", py);
  return nlohmann::json::parse(Sh("python3 " + Quote(zip.string() + ".py") + " " + Quote(zip.string())));
}

// sha256 hex of a file's bytes.
inline std::string FileSha256(const fs::path& p) { return Sha256Of(ReadFile(p)).hex; }

// Files under /usr/share/doc in a stable order (regular files, directories
// and symlinks) up to about `cap` bytes of regular-file content.
inline std::vector<std::string> DocPaths(uint64_t cap) {
  std::vector<std::string> all;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator("/usr/share/doc", ec); it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    all.push_back(it->path().string());
  }
  std::sort(all.begin(), all.end());
  std::vector<std::string> picked;
  uint64_t bytes = 0;
  for (const std::string& p : all) {
    if (bytes >= cap) break;
    fs::file_status st = fs::symlink_status(p, ec);
    if (ec) continue;
    if (fs::is_regular_file(st)) bytes += fs::file_size(p, ec);
    picked.push_back(p);
  }
  return picked;
}

// A tar of those paths (GNU tar, names as usr/share/doc/...), with its gzip
// (gzip -6, as docker) and zstd (-3) forms beside it; built once per run.
struct DocLayer {
  fs::path tar, gz, zst;
  std::vector<std::string> paths;  // absolute, as on this machine
};

inline const DocLayer& TheDocLayer() {
  static TempDir dir("pier-inspect-doc");
  static DocLayer layer = [] {
    DocLayer l;
    l.paths = DocPaths(24 << 20);
    std::string list;
    for (const std::string& p : l.paths) list += p.substr(1) + "\n";
    WriteFile(dir.path() / "list", list);
    l.tar = dir.path() / "doc.tar";
    l.gz = dir.path() / "doc.tar.gz";
    l.zst = dir.path() / "doc.tar.zst";
    int rc = 0;
    Sh("tar -cf " + Quote(l.tar) + " -C / --no-recursion -T " + Quote(dir.path() / "list"), &rc);
    if (rc == 0) Sh("gzip -6 -c " + Quote(l.tar) + " > " + Quote(l.gz), &rc);
    if (rc == 0) Sh("zstd -q -3 -c " + Quote(l.tar) + " > " + Quote(l.zst), &rc);
    if (rc != 0) std::abort();
    return l;
  }();
  return layer;
}

// Real, non-symlink jars from Debian's /usr/share/java, the ones
// scripts/deps.sh installs first.
inline std::vector<std::string> RealJars() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const char* name : {"commons-lang3.jar", "guava.jar", "commons-io.jar", "commons-cli.jar"}) {
    const fs::path p = fs::path("/usr/share/java") / name;
    if (fs::is_regular_file(fs::symlink_status(p, ec))) out.push_back(p.string());
  }
  if (out.size() >= 2) return out;
  for (auto it = fs::directory_iterator("/usr/share/java", ec); it != fs::directory_iterator(); it.increment(ec)) {
    if (it->path().extension() == ".jar" && fs::is_regular_file(it->symlink_status(ec)) &&
        std::find(out.begin(), out.end(), it->path().string()) == out.end()) {
      out.push_back(it->path().string());
    }
    if (out.size() >= 4) break;
  }
  return out;
}

// Builds a Spring-Boot-shaped fat JAR at `out` from `jars` with python's
// zipfile: the jars STORED under BOOT-INF/lib (the last renamed
// *-1.0-SNAPSHOT.jar), 40 real .class files taken from them deflated under
// BOOT-INF/classes, 20 more under org/springframework/boot/loader, a
// MANIFEST.MF, classpath.idx (and layers.idx when asked), directory
// entries, fixed timestamps.
//  mode "seek": written to a file (sizes in the local headers);
//  mode "pipe": written to a stream (data descriptors, flag bit 3);
//  mode "pipe-deflated": the same with every entry deflated, jars too.
// variant != 0 changes the first application class's bytes.
struct FatJarSpec {
  std::string mode = "seek";
  int variant = 0;
  bool layers_idx = false;
};

inline const char* kFatJarPy = R"PY(
import os, sys, zipfile
out, mode, variant, idx = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
jars = sys.argv[5:]
classes = []
for j in jars:
    with zipfile.ZipFile(j) as z:
        for i in z.infolist():
            if i.filename.endswith('.class') and '$' not in i.filename and len(classes) < 60:
                classes.append((os.path.basename(i.filename), z.read(i)))
app, loader = classes[:40], classes[40:60]
if variant:
    app[0] = (app[0][0], app[0][1] + b'\x00variant%d' % variant)

class Unseekable:
    def __init__(self, f): self.f = f
    def write(self, b): return self.f.write(b)
    def flush(self): self.f.flush()
    def close(self): self.f.close()

raw = open(out, 'wb')
z = zipfile.ZipFile(raw if mode == 'seek' else Unseekable(raw), 'w')
def put(name, data, stored=False):
    zi = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    deflate = not stored or mode == 'pipe-deflated'
    zi.compress_type = zipfile.ZIP_DEFLATED if deflate and not name.endswith('/') else zipfile.ZIP_STORED
    z.writestr(zi, data)
put('META-INF/', b'')
put('META-INF/MANIFEST.MF', b'Manifest-Version: 1.0\r\nMain-Class: org.springframework.boot.loader.JarLauncher\r\n'
    b'Start-Class: com.example.App\r\nSpring-Boot-Classes: BOOT-INF/classes/\r\nSpring-Boot-Lib: BOOT-INF/lib/\r\n\r\n')
for d in ['org/', 'org/springframework/', 'org/springframework/boot/', 'org/springframework/boot/loader/']:
    put(d, b'')
for name, data in loader:
    put('org/springframework/boot/loader/' + name, data)
for d in ['BOOT-INF/', 'BOOT-INF/classes/', 'BOOT-INF/classes/com/', 'BOOT-INF/classes/com/example/']:
    put(d, b'')
for name, data in app:
    put('BOOT-INF/classes/com/example/' + name, data)
put('BOOT-INF/classes/application.properties', b'server.port=8080\nspring.application.name=demo\n')
put('BOOT-INF/lib/', b'')
libs = []
for n, j in enumerate(jars):
    base = os.path.basename(j)
    if n == len(jars) - 1:
        base = base[:-4] + '-1.0-SNAPSHOT.jar'
    libs.append('BOOT-INF/lib/' + base)
    put('BOOT-INF/lib/' + base, open(j, 'rb').read(), stored=True)
put('BOOT-INF/classpath.idx', ''.join('- "%s"\n' % l for l in libs).encode())
if idx:
    put('BOOT-INF/layers.idx', b'- "dependencies":\n  - "BOOT-INF/lib/"\n- "spring-boot-loader":\n  - "org/"\n'
        b'- "snapshot-dependencies":\n- "application":\n  - "BOOT-INF/classes/"\n  - "BOOT-INF/classpath.idx"\n'
        b'  - "BOOT-INF/layers.idx"\n  - "META-INF/"\n')
z.close()
raw.close()
)PY";

inline bool BuildFatJar(const fs::path& out, const std::vector<std::string>& jars, const FatJarSpec& spec = {}) {
  const fs::path py = out.string() + ".build.py";
  WriteFile(py, kFatJarPy);
  std::string cmd = "python3 " + Quote(py) + " " + Quote(out) + " " + spec.mode + " " + std::to_string(spec.variant) + " " +
                    (spec.layers_idx ? "1" : "0");
  for (const std::string& j : jars) cmd += " " + Quote(j);
  int rc = 0;
  Sh(cmd, &rc);
  return rc == 0;
}

// What `java -Djarmode=layertools -jar app.jar extract` makes of the fat
// JAR: a folder per layer holding its entries as files, here each made the
// gzip tar a `COPY <layer>/ ./` would add (tar + gzip -6). The layer of an
// entry is decided by its own rule (Spring Boot's default layers.idx), not
// the code under test. Returns layer name → compressed bytes.
inline std::map<std::string, uint64_t> ExtractedLayerSizes(const fs::path& jar, const fs::path& work) {
  const std::string py = R"PY(
import os, sys, zipfile
jar, out = sys.argv[1], sys.argv[2]
def layer(n):
    if n.startswith('BOOT-INF/lib/') and len(n) > len('BOOT-INF/lib/'):
        return 'snapshot-dependencies' if 'SNAPSHOT' in n else 'dependencies'
    if n.startswith('org/springframework/boot/loader/'):
        return 'spring-boot-loader'
    return 'application'
for l in ['dependencies', 'spring-boot-loader', 'snapshot-dependencies', 'application']:
    os.makedirs(os.path.join(out, l), exist_ok=True)
with zipfile.ZipFile(jar) as z:
    for i in z.infolist():
        p = os.path.join(out, layer(i.filename), i.filename)
        if i.filename.endswith('/'):
            os.makedirs(p, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, 'wb') as f:
            f.write(z.read(i))
)PY";
  WriteFile(work / "extract.py", py);
  std::map<std::string, uint64_t> sizes;
  int rc = 0;
  Sh("python3 " + Quote(work / "extract.py") + " " + Quote(jar) + " " + Quote(work / "layers"), &rc);
  if (rc != 0) return sizes;
  for (const char* l : {"dependencies", "spring-boot-loader", "snapshot-dependencies", "application"}) {
    const fs::path tgz = work / (std::string(l) + ".tar.gz");
    Sh("tar -C " + Quote(work / "layers" / l) + " -cf - . | gzip -6 > " + Quote(tgz), &rc);
    if (rc != 0) return {};
    sizes[l] = fs::file_size(tgz);
  }
  return sizes;
}

}  // namespace pier::testing
