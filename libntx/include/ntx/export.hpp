// Symbol visibility for libntx: the library builds with -fvisibility=hidden and exports only what
// carries NTX_API.
#pragma once

#if defined(NTX_BUILDING_LIBRARY)
#define NTX_API __attribute__((visibility("default")))
#else
#define NTX_API
#endif
