#include "replication/advisor/report_text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace pier::advisor {
namespace {

using json = nlohmann::json;

// Changed files shown per layer (the JSON has more).
constexpr size_t kFilesShown = 5;

std::string Str(const json& j, const char* key, const std::string& dflt = "-") {
  if (!j.is_object() || !j.contains(key)) return dflt;
  const json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  return dflt;
}

uint64_t Num(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return 0;
  return j[key].get<uint64_t>();
}

std::string Short(const std::string& digest) {
  return digest.size() > 19 ? digest.substr(0, 19) : digest;  // "sha256:" + 12 hex
}

std::string Clip(std::string s, size_t n) {
  for (char& c : s) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  if (s.size() <= n) return s;
  return s.substr(0, n - 3) + "...";
}

// Left-aligned columns, two spaces apart.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line = "  ";
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace

std::string HumanBytes(uint64_t bytes) {
  char buf[32];
  double b = static_cast<double>(bytes);
  if (bytes < 1000) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else if (b < 1e6) std::snprintf(buf, sizeof buf, "%.1f kB", b / 1e3);
  else if (b < 1e9) std::snprintf(buf, sizeof buf, "%.1f MB", b / 1e6);
  else std::snprintf(buf, sizeof buf, "%.2f GB", b / 1e9);
  return buf;
}

std::string HumanSeconds(const json& seconds) {
  if (!seconds.is_number()) return "-";
  double s = seconds.get<double>();
  char buf[32];
  if (s < 10) std::snprintf(buf, sizeof buf, "%.1f s", s);
  else if (s < 60) std::snprintf(buf, sizeof buf, "%.0f s", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%d min %02d s", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  else std::snprintf(buf, sizeof buf, "%d h %02d min", static_cast<int>(s) / 3600, static_cast<int>(s) / 60 % 60);
  return buf;
}

std::string RenderReport(const json& r) {
  std::string out;
  const json& image = r.contains("image") ? r["image"] : json::object();
  out += Str(r, "repository") + ":" + Str(r, "reference") + "  " + Short(Str(image, "digest"));
  if (image.contains("platform")) out += "  (" + Str(image, "platform") + " of an index)";
  out += "\n";
  const json& against = r.contains("against") ? r["against"] : json(nullptr);
  if (against.is_object()) {
    out += "compared with " + Str(against, "reference") + " (" + Str(r, "against_how") + ")\n";
  } else {
    out += "no earlier build to compare with: every layer counts as new\n";
  }
  const json& totals = r.contains("totals") ? r["totals"] : json::object();
  out += HumanBytes(Num(totals, "image_bytes")) + " in " + Str(totals, "layers") + " layers; new this build: " +
         Str(totals, "new_layers") + " layers, " + HumanBytes(Num(totals, "new_bytes")) + "\n\n";

  const json& dests = r.contains("destinations") ? r["destinations"] : json::array();
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head = {"#", "SIZE", "STATUS", "ZSTD"};
  for (const json& d : dests) head.push_back(Str(d, "name"));
  head.push_back("MADE BY");
  rows.push_back(head);
  for (const json& l : r.value("layers", json::array())) {
    std::vector<std::string> row = {Str(l, "index"), HumanBytes(Num(l, "size")), Str(l, "status")};
    if (l.contains("zstd")) {
      row.push_back(HumanBytes(Num(l["zstd"], "size")) + (l["zstd"].value("exact", false) ? "" : "~"));
    } else {
      row.push_back("-");
    }
    for (const json& d : l.value("destinations", json::array())) {
      row.push_back(d.value("missing", false) ? "send " + HumanSeconds(d["seconds"]) : "held");
    }
    row.push_back(Clip(Str(l, "created_by", ""), 60));
    rows.push_back(std::move(row));
  }
  out += "Layers (ZSTD: the stored copy, or ~ compressed at level 3 for this report)\n" + Table(rows) + "\n";

  if (dests.empty()) {
    out += "No enabled push policy replicates this repository and tag.\n\n";
  } else {
    rows = {{"DESTINATION", "REPOSITORY", "FORMAT", "TO SEND", "BLOBS", "RATE", "TIME"}};
    for (const json& d : dests) {
      std::string rate = "-";
      if (d.contains("rate_bytes_per_second") && d["rate_bytes_per_second"].is_number()) {
        rate = HumanBytes(static_cast<uint64_t>(d["rate_bytes_per_second"].get<double>())) + "/s (" +
               Str(d, "rate_source") + ")";
      } else {
        rate = "unknown (no replication history yet)";
      }
      rows.push_back({Str(d, "name"), Str(d, "repository"), Str(d, "compression"),
                      HumanBytes(Num(d, "bytes_to_send")), Str(d, "missing_blobs"), rate, HumanSeconds(d["seconds"])});
    }
    out += "Destinations\n" + Table(rows) + "\n";
  }

  const json& findings = r.contains("findings") ? r["findings"] : json::array();
  if (!findings.empty()) {
    out += "What changes, and what would make it smaller\n";
    for (const json& f : findings) out += "  - " + Str(f, "message") + "\n";
    out += "\n";
  }
  rows.clear();
  for (const json& l : r.value("layers", json::array())) {
    if (!l.contains("content") || !l["content"].contains("changed_files")) continue;
    const json& files = l["content"]["changed_files"];
    for (size_t k = 0; k < files.size() && k < kFilesShown; ++k) {
      const json& f = files[k];
      rows.push_back({"layer " + Str(l, "index"), Str(f, "change"), HumanBytes(Num(f, "size")), Clip(Str(f, "path"), 90)});
    }
  }
  if (!rows.empty()) out += "Largest new or changed files, per layer\n" + Table(rows) + "\n";
  const json& z = r.contains("zstd") ? r["zstd"] : json::object();
  if (z.contains("zstd_bytes")) {
    out += "zstd: the gzip layers would be " + HumanBytes(Num(z, "zstd_bytes")) + " instead of " +
           HumanBytes(Num(z, "gzip_bytes")) + (z.value("exact", false) ? " (stored copies)" : " (at level 3)") +
           "; set \"compression\": {\"format\": \"zstd\"} on the policy\n";
  }
  return out;
}

}  // namespace pier::advisor
