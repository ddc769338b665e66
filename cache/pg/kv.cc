#include "cache/pg/kv.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "cache/pg/transaction.h"

namespace pier::pg {
namespace {

// 64-bit FNV-1a of family, a separator and key: the advisory lock id of a
// key. A collision only makes two unrelated keys' writers take turns.
int64_t LockId(std::string_view family, std::string_view key) {
  uint64_t h = 14695981039346656037ull;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix(family);
  mix(std::string_view("\0", 1));
  mix(key);
  return static_cast<int64_t>(h);
}

std::string Printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 64)) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (s.size() > 64) out += "...";
  return out;
}

}  // namespace

std::optional<std::string> PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (end.empty()) return std::nullopt;
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

Result<std::string> PgKv::Get(std::string_view family, std::string_view key) const {
  // One statement in autocommit. A read may run again: once more on a
  // fresh connection when this one turned out dead (a server restart).
  Result<Rows> r = Status::Internal("not run");
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto h = pool_->Acquire();
    if (!h.ok()) return h.status();
    r = (*h)->Exec("SELECT value FROM pier_kv WHERE family = $1 AND key = $2",
                   {Param::Text(family), Param::Bytes(key)});
    if (r.ok() || !(*h)->broken()) break;
  }
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return Status::NotFound("pier_kv: no key " + Printable(key) + " in " + std::string(family));
  return r->Bytes(0, 0);
}

Result<bool> PgKv::Has(std::string_view family, std::string_view key) const {
  auto v = Get(family, key);
  if (v.ok()) return true;
  if (v.status().code() == Code::kNotFound) return false;
  return v.status();
}

Status PgKv::Scan(std::string_view family, std::string_view prefix, std::string_view after,
                  const Visitor& fn) const {
  // Where to start: at the prefix (inclusive), or after `after` when that
  // lies at or past the prefix's first key.
  std::string start(prefix);
  bool inclusive = true;
  if (!after.empty() && after >= prefix) {
    start = std::string(after);
    inclusive = false;
  }
  const std::optional<std::string> end = PrefixEnd(prefix);
  const std::string limit = std::to_string(page_size_);
  // Keyset pagination on the primary key: each page is an index range scan
  // from the last key seen; no OFFSET, no cursor state on the server.
  std::string sql = "SELECT key, value FROM pier_kv WHERE family = $1 AND key ";
  std::string sql_next = sql + "> $2";
  sql += inclusive ? ">= $2" : "> $2";
  if (end) {
    sql += " AND key < $4";
    sql_next += " AND key < $4";
  }
  sql += " ORDER BY key LIMIT $3::int8";
  sql_next += " ORDER BY key LIMIT $3::int8";
  bool delivered = false;
  TxOptions o;
  o.isolation = Isolation::kRepeatableRead;  // one snapshot for every page
  o.read_only = true;
  return RunTransaction(
      *pool_,
      [&](Connection& c) -> Status {
        // A retry after fn saw rows (the connection died mid-scan) would
        // replay them from another snapshot: report the break instead.
        if (delivered) return Status::Unavailable("pier_kv: scan of " + std::string(family) + " interrupted");
        std::string from = start;
        bool first = true;
        for (;;) {
          std::vector<Param> params = {Param::Text(family), Param::Bytes(from), Param::Text(limit)};
          if (end) params.push_back(Param::Bytes(*end));
          auto r = c.Exec(first ? sql : sql_next, params);
          if (!r.ok()) return r.status();
          first = false;
          for (int i = 0; i < r->rows(); ++i) {
            std::string_view k = r->Value(i, 0);
            // The range already bounds the prefix; check anyway, so a wrong
            // bound could only ever end a scan early, not leak other keys.
            if (!k.starts_with(prefix)) return Status::OK();
            delivered = true;
            if (!fn(k, r->Value(i, 1))) return Status::OK();
          }
          if (r->rows() < page_size_) return Status::OK();
          from = r->Bytes(r->rows() - 1, 0);
        }
      },
      o);
}

Status PgKv::Write(const std::vector<KvOp>& batch, const std::vector<KvCondition>& conditions) const {
  // Last op per key wins (batch order), then keys in one order for locks.
  struct Effect {
    const std::optional<std::string>* value = nullptr;
    std::optional<int64_t> add;
  };
  std::map<std::pair<std::string, std::string>, Effect> ops;
  for (const KvOp& op : batch) {
    Effect& e = ops[{op.family, op.key}];
    if (op.add) {
      e.add = e.add.value_or(0) + *op.add;
    } else {
      e = Effect{&op.value, std::nullopt};
    }
  }
  std::vector<int64_t> locks;
  for (const auto& [fk, v] : ops) locks.push_back(LockId(fk.first, fk.second));
  for (const KvCondition& c : conditions) locks.push_back(LockId(c.family, c.key));
  std::sort(locks.begin(), locks.end());
  locks.erase(std::unique(locks.begin(), locks.end()), locks.end());
  std::string lock_array = "{";
  for (size_t i = 0; i < locks.size(); ++i) lock_array += (i ? "," : "") + std::to_string(locks[i]);
  lock_array += "}";
  // Conditions checked in key order too (FOR UPDATE row locks).
  std::vector<const KvCondition*> conds;
  for (const KvCondition& c : conditions) conds.push_back(&c);
  std::sort(conds.begin(), conds.end(), [](const KvCondition* a, const KvCondition* b) {
    return std::tie(a->family, a->key) < std::tie(b->family, b->key);
  });

  return RunTransaction(*pool_, [&](Connection& c) -> Status {
    if (!locks.empty()) {
      // Sorted array, unnested in order: the locks are taken in one global
      // order by every writer.
      auto r = c.Exec("SELECT pg_advisory_xact_lock(id) FROM unnest($1::int8[]) WITH ORDINALITY AS t(id, n) ORDER BY n",
                      {Param::Text(lock_array)});
      if (!r.ok()) return r.status();
    }
    for (const KvCondition* cond : conds) {
      auto r = c.Exec("SELECT value FROM pier_kv WHERE family = $1 AND key = $2 FOR UPDATE",
                      {Param::Text(cond->family), Param::Bytes(cond->key)});
      if (!r.ok()) return r.status();
      bool holds = cond->value ? (r->rows() == 1 && r->Value(0, 0) == *cond->value) : r->rows() == 0;
      if (!holds) {
        return Status::FailedPrecondition("condition failed: " + cond->family + "/" + Printable(cond->key) +
                                          (cond->value ? " does not hold the expected value" : " exists"));
      }
    }
    for (const auto& [fk, e] : ops) {
      if (e.add) {
        // bytea <-> bigint: int8send gives 8 big-endian bytes; hex through
        // bit(64) reads them back (two's complement).
        auto r = c.Exec(
            "INSERT INTO pier_kv (family, key, value) VALUES ($1, $2, int8send($3::int8)) "
            "ON CONFLICT (family, key) DO UPDATE SET value = int8send(CASE WHEN length(pier_kv.value) = 8 "
            "THEN ('x' || encode(pier_kv.value, 'hex'))::bit(64)::int8 ELSE 0 END + $3::int8)",
            {Param::Text(fk.first), Param::Bytes(fk.second), Param::Text(std::to_string(*e.add))});
        if (!r.ok()) return r.status();
        continue;
      }
      const std::optional<std::string>* v = e.value;
      Result<Rows> r = *v ? c.Exec("INSERT INTO pier_kv (family, key, value) VALUES ($1, $2, $3) "
                                   "ON CONFLICT (family, key) DO UPDATE SET value = excluded.value",
                                   {Param::Text(fk.first), Param::Bytes(fk.second), Param::Bytes(**v)})
                          : c.Exec("DELETE FROM pier_kv WHERE family = $1 AND key = $2",
                                   {Param::Text(fk.first), Param::Bytes(fk.second)});
      if (!r.ok()) return r.status();
    }
    return Status::OK();
  });
}

}  // namespace pier::pg
