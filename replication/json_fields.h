#pragma once
// TEMPORARY (issue 9): the JSON field readers moved to base/json_fields.h and
// Harbor's time format to replication/harbor_time.h. This header only keeps
// engine.cc compiling until the engine split changes its includes; include
// those two headers directly instead, and delete this file then.
#include "base/json_fields.h"
#include "replication/harbor_time.h"
