// The fake host with one plugin loaded and initialised, for a plugin's unit tests. When the test ends
// it checks that the plugin broke none of the ABI's rules the fake host watches.
#pragma once

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "support/fake_host.hpp"

#ifndef NTX_TEST_PLUGIN_DIR
#error "NTX_TEST_PLUGIN_DIR must name the directory holding the plugins under test (ntx_http.so, ntx_ftp.so)"
#endif

namespace ntx::test {

struct PluginHarness {
    FakeHost host;

    // Loads the plugin at `plugin_path` and initialises it with `config` (JSON); both must succeed.
    explicit PluginHarness(const std::string &plugin_path, const std::string &config = "{}") : host(plugin_path) {
        REQUIRE(host.load() == NTX_OK);
        REQUIRE(host.init(config) == NTX_OK);
    }
    ~PluginHarness() { CHECK(host.violations().empty()); }
    PluginHarness(const PluginHarness &) = delete;
    PluginHarness &operator=(const PluginHarness &) = delete;

    // Runs `call` and connects the socket it opens (there must be exactly one new one); returns the action.
    FakeHost::ActionId start_connected(uint64_t user, const std::string &call, Params params) {
        const std::size_t before = host.socket_count();
        const auto id = host.run(user, call, std::move(params));
        REQUIRE(host.run_status(id) == NTX_OK);
        REQUIRE(host.socket_count() == before + 1);
        REQUIRE(host.connect(host.last_socket().id));
        return id;
    }
};

}  // namespace ntx::test
