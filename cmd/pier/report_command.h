#pragma once
// `pier report [--server URL] REPO:TAG [--against TAG] [--json]`: the layer
// advisor's report on a pushed build (replication/advisor/advisor.h), asked
// of a running Pier (GET /api/v2.0/report) and printed as a table, or as
// the API's JSON with --json. Exit 0 with a report, 1 when the server
// refused (no such image, no access), 2 on usage or connection errors.
namespace pier::cli {

extern const char* const kReportUsage;
int Report(int argc, char** argv);

}  // namespace pier::cli
