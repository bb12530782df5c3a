// Umbrella header of the ntx C++ API.
#pragma once

#include "ntx/diagnostics.hpp"
#include "ntx/host.hpp"
#include "ntx/plugins.hpp"
#include "ntx/progress.hpp"
#include "ntx/report.hpp"
#include "ntx/version.hpp"
