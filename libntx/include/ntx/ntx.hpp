// Umbrella header of the ntx C++ API (docs/cpp-api.md). Every public header is included here.
#pragma once

#include "ntx/crash_trace.hpp"
#include "ntx/diagnostics.hpp"
#include "ntx/distributed.hpp"
#include "ntx/host.hpp"
#include "ntx/plugins.hpp"
#include "ntx/progress.hpp"
#include "ntx/protocol.hpp"
#include "ntx/report.hpp"
#include "ntx/script_builder.hpp"
#include "ntx/version.hpp"
