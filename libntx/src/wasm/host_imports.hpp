// What the host provides to a wasm plugin's imports: module "ntx" (ntx/wasm_guest.h) and a minimal
// WASI preview1. Module::load checks a module's imports against it; Guest::start binds them.
#pragma once

#include "wasm/wasm_module.hpp"

namespace ntx::wasm {

ImportResolver make_resolver();

}  // namespace ntx::wasm
