// Symbol visibility and the ABI namespace of libntx.
//
// libntx builds with -fvisibility=hidden and exports only what carries NTX_API: the engine's internals
// (scheduler, loops, parser) are not part of its ABI and cannot be linked against by accident.
// Every public C++ name is declared between NTX_BEGIN_NAMESPACE and NTX_END_NAMESPACE, that is in
// `namespace ntx { inline namespace v<MAJOR>_<MINOR> {`: code says `ntx::Host`, the linker sees
// `ntx::v0_1::Host`, so a harness compiled against one ABI generation never silently links against
// another (see NTX_ABI_NAMESPACE in ntx/version.hpp). The plugin C ABI (ntx/plugin_abi.h) is versioned
// on its own and is not affected.
#pragma once

#include "ntx/version.hpp"

#if defined(NTX_BUILDING_LIBRARY)
#define NTX_API __attribute__((visibility("default")))
#else
#define NTX_API
#endif

#define NTX_BEGIN_NAMESPACE \
    namespace ntx {         \
    inline namespace NTX_ABI_NAMESPACE {
#define NTX_END_NAMESPACE \
    }                     \
    }
