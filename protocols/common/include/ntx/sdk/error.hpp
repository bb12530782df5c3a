// A plugin-side failure: an ntx status code and a short reason for the host.
#pragma once

#include <ntx/plugin_abi.h>

#include <string>

namespace ntx::sdk {

struct Error {
    ntx_status_t code = NTX_OK;
    std::string reason;

    explicit operator bool() const noexcept { return code != NTX_OK; }
};

}  // namespace ntx::sdk
