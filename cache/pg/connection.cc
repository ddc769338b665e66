#include "cache/pg/connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cstring>
#include <utility>

namespace pier::pg {
namespace {

constexpr std::string_view kStatePrefix = "SQLSTATE ";

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Classes of SQLSTATE that mean "the server or the link is gone or full",
// not "this statement is wrong".
bool UnavailableState(std::string_view st) {
  if (st.starts_with("08")) return true;  // connection exception
  if (st == "57P01" || st == "57P02" || st == "57P03" || st == "57P04" || st == "57P05") return true;
  return st == "53300";  // too_many_connections
}

Code CodeFor(std::string_view st) {
  if (st.empty()) return Code::kUnavailable;  // libpq's own failure: the link
  if (UnavailableState(st)) return Code::kUnavailable;
  if (st == "23505") return Code::kAlreadyExists;
  if (st == "40001" || st == "40P01") return Code::kFailedPrecondition;
  if (st.starts_with("23") || st.starts_with("22")) return Code::kInvalidArgument;
  return Code::kInternal;
}

void IgnoreNotice(void*, const char*) {}  // NOTICEs (IF NOT EXISTS...) are not errors

}  // namespace

// --- Rows ---

Rows::Rows(pg_result* r) : r_(r) {}
Rows::~Rows() {
  if (r_ != nullptr) PQclear(r_);
}
Rows::Rows(Rows&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
Rows& Rows::operator=(Rows&& o) noexcept {
  if (this != &o) {
    if (r_ != nullptr) PQclear(r_);
    r_ = std::exchange(o.r_, nullptr);
  }
  return *this;
}
int Rows::rows() const { return r_ == nullptr ? 0 : PQntuples(r_); }
int Rows::columns() const { return r_ == nullptr ? 0 : PQnfields(r_); }
int64_t Rows::affected() const {
  if (r_ == nullptr) return 0;
  const char* n = PQcmdTuples(r_);
  return (n == nullptr || *n == '\0') ? 0 : std::strtoll(n, nullptr, 10);
}
bool Rows::IsNull(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
std::string_view Rows::Value(int row, int col) const {
  if (IsNull(row, col)) return {};
  return std::string_view(PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col)));
}
int64_t Rows::Int(int row, int col) const {
  std::string_view v = Value(row, col);
  // Binary format: network byte order, width by type (bool 1, int2/4/8).
  uint64_t u = 0;
  for (unsigned char c : v) u = (u << 8) | c;
  switch (v.size()) {
    case 1: return static_cast<int8_t>(u);
    case 2: return static_cast<int16_t>(u);
    case 4: return static_cast<int32_t>(u);
    default: return static_cast<int64_t>(u);
  }
}

// --- Status helpers ---

std::string SqlState(const Status& s) {
  const std::string& m = s.message();
  if (!m.starts_with(kStatePrefix) || m.size() < kStatePrefix.size() + 5) return "";
  return m.substr(kStatePrefix.size(), 5);
}

bool IsRetryable(const Status& s) {
  if (s.code() != Code::kFailedPrecondition) return false;
  std::string st = SqlState(s);
  return st == "40001" || st == "40P01";
}

// --- Connection ---

Result<std::unique_ptr<Connection>> Connection::Connect(const Options& options) {
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(options.dsn.c_str(), &err);
  if (parsed == nullptr) {
    // The parser's message names the bad keyword; the DSN holds no password
    // of ours, but it is not echoed either.
    std::string m = err != nullptr ? Trim(err) : "out of memory";
    if (err != nullptr) PQfreemem(err);
    return Status::InvalidArgument("postgres DSN: " + m);
  }
  std::vector<std::string> keys, values;
  std::string password = options.password, host, port, db, user;
  bool has_timeout = false;
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    std::string k = o->keyword, v = o->val;
    if (k == "password") {
      if (password.empty()) password = v;  // the separate one wins
      continue;
    }
    if (k == "connect_timeout") has_timeout = true;
    if (k == "host" || k == "hostaddr") host = v;
    if (k == "port") port = v;
    if (k == "dbname") db = v;
    if (k == "user") user = v;
    keys.push_back(k);
    values.push_back(v);
  }
  PQconninfoFree(parsed);
  if (!has_timeout) {
    keys.push_back("connect_timeout");
    values.push_back(std::to_string(options.connect_timeout.count()));
  }
  if (!password.empty()) {
    keys.push_back("password");
    values.push_back(password);
  }
  std::vector<const char*> kp, vp;
  for (size_t i = 0; i < keys.size(); ++i) {
    kp.push_back(keys[i].c_str());
    vp.push_back(values[i].c_str());
  }
  kp.push_back(nullptr);
  vp.push_back(nullptr);
  std::string where = "postgres " + (user.empty() ? "" : user + "@") + host + ":" + port + "/" + db;

  pg_conn* c = PQconnectdbParams(kp.data(), vp.data(), /*expand_dbname=*/0);
  if (c == nullptr) return Status::ResourceExhausted(where + ": out of memory");
  std::unique_ptr<Connection> conn(new Connection(c, password, where));
  if (PQstatus(c) != CONNECTION_OK) {
    return Status::Unavailable(conn->Scrub(where + ": cannot connect: " + Trim(PQerrorMessage(c))));
  }
  PQsetNoticeProcessor(c, IgnoreNotice, nullptr);
  return conn;
}

Connection::~Connection() { PQfinish(conn_); }

std::string Connection::Scrub(std::string msg) const {
  if (password_.empty()) return msg;
  for (size_t at = msg.find(password_); at != std::string::npos; at = msg.find(password_, at)) {
    msg.replace(at, password_.size(), "***");
  }
  return msg;
}

Status Connection::ErrorFrom(pg_result* r, std::string_view what) {
  std::string state, msg;
  if (r != nullptr) {
    const char* st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    const char* detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
    if (st != nullptr) state = st;
    if (primary != nullptr) msg = primary;
    if (detail != nullptr) msg += std::string(" (") + detail + ")";
  }
  if (msg.empty()) msg = Trim(PQerrorMessage(conn_));
  if (PQstatus(conn_) == CONNECTION_BAD) broken_ = true;
  Code code = CodeFor(state);
  // The server is leaving or the link failed: this connection is done.
  if (code == Code::kUnavailable) broken_ = true;
  std::string text = state.empty() ? "" : std::string(kStatePrefix) + state + ": ";
  text += msg + " [" + where_ + ", " + std::string(what) + "]";
  return Status(code, Scrub(std::move(text)));
}

Result<Rows> Connection::Run(std::string_view sql, const Param* params, size_t n) {
  if (broken_) return Status::Unavailable(where_ + ": connection is broken");
  std::string text(sql);
  std::vector<const char*> values(n);
  std::vector<int> lengths(n), formats(n);
  for (size_t i = 0; i < n; ++i) {
    // libpq reads a null pointer as SQL NULL: an empty value whose view
    // has no storage must still point somewhere.
    values[i] = params[i].null ? nullptr : params[i].data.data() != nullptr ? params[i].data.data() : "";
    // libpq reads text parameters up to a NUL: a string_view is not one.
    lengths[i] = static_cast<int>(params[i].data.size());
    formats[i] = params[i].binary ? 1 : 0;
  }
  std::vector<std::string> text_copies;
  text_copies.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (!params[i].binary && !params[i].null) {
      text_copies.emplace_back(params[i].data);
      values[i] = text_copies.back().c_str();
    }
  }
  pg_result* r = PQexecParams(conn_, text.c_str(), static_cast<int>(n), nullptr, values.data(), lengths.data(),
                              formats.data(), /*resultFormat=*/1);
  Rows rows(r);
  ExecStatusType st = r == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return ErrorFrom(r, "query");
  return rows;
}

Result<Rows> Connection::Exec(std::string_view sql, std::initializer_list<Param> params) {
  return Run(sql, params.begin(), params.size());
}

Result<Rows> Connection::Exec(std::string_view sql, const std::vector<Param>& params) {
  return Run(sql, params.data(), params.size());
}

Status Connection::ExecScript(std::string_view sql) {
  if (broken_) return Status::Unavailable(where_ + ": connection is broken");
  std::string text(sql);
  // PQexec runs every statement of the script and returns the last result;
  // the first error ends the script and is that result.
  pg_result* r = PQexec(conn_, text.c_str());
  Rows hold(r);
  ExecStatusType st = r == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) return ErrorFrom(r, "script");
  return Status::OK();
}

Status Connection::Ping() {
  auto r = Exec("SELECT 1");
  if (!r.ok()) return r.status();
  if (r->rows() != 1 || r->Int(0, 0) != 1) return Status::Internal(where_ + ": SELECT 1 did not return 1");
  return Status::OK();
}

bool Connection::broken() const { return broken_ || PQstatus(conn_) == CONNECTION_BAD; }

bool Connection::in_transaction() const {
  PGTransactionStatusType t = PQtransactionStatus(conn_);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

bool Connection::in_failed_transaction() const { return PQtransactionStatus(conn_) == PQTRANS_INERROR; }

bool Connection::LooksAlive() {
  if (broken()) return false;
  pollfd p{PQsocket(conn_), POLLIN, 0};
  if (p.fd < 0) return !(broken_ = true);
  if (::poll(&p, 1, 0) > 0) {
    // An idle connection gets nothing unless the server is leaving (or a
    // NOTIFY, which we do not use): read it; EOF marks the link bad.
    if (PQconsumeInput(conn_) == 0) broken_ = true;
  }
  if (PQtransactionStatus(conn_) == PQTRANS_UNKNOWN) broken_ = true;
  return !broken();
}

}  // namespace pier::pg
