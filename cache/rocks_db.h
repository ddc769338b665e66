#pragma once
// The RocksDB Db (OpenRocksDb in db.h) and the mapping of RocksDB's status
// to Pier's, for the few places that still speak RocksDB (tools, tests).
#include <rocksdb/status.h>

#include "cache/db.h"

namespace pier {

Status FromRocks(const rocksdb::Status& s);

}  // namespace pier
