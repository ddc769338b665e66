#pragma once
// A data folder remembers where its blob bytes live (<root>/STORAGE, one
// line: BlobStorage::identity()). Opening it with another storage would
// make every record point at bytes that are not there, and recovery or GC
// would then drop sessions and records a correct start still needs: the
// store refuses instead, naming both. A folder without the file (new, or
// made before the file existed, when blobs were always local files) gets it.
#include <string>
#include <string_view>

#include "base/status.h"
#include "cache/layout.h"

namespace pier {

// FailedPrecondition when the folder's blobs live elsewhere than `identity`.
Status CheckStorageMarker(const Layout& layout, std::string_view identity);
// The recorded identity; "filesystem" when the file is absent.
Result<std::string> ReadStorageMarker(const Layout& layout);

}  // namespace pier
