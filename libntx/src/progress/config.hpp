// The script's `progress:` section, compiled: how the progress bus batches and prioritises events.
// The model is the DSL's (dsl/progress_model.hpp); progress/ knows it by its old name.
#pragma once

#include "dsl/progress_model.hpp"

namespace ntx::progress {

using ProgressConfig = dsl::ProgressConfig;

}  // namespace ntx::progress
