#pragma once
// `pier gc --data DIR`: one garbage collection run on a stopped Pier's data
// folder, through the same GcService and Store::CollectGarbage a running
// Pier uses (the run lands in the GC history the API shows). Prints each log
// line and a totals line. Exit 0 on success, 1 on error (a running Pier
// holding the folder included), 2 on usage errors.
namespace pier::cli {

extern const char* const kGcUsage;
int Gc(int argc, char** argv);

}  // namespace pier::cli
