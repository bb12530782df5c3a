// ntx/status.hpp and ntx/host_table.hpp: the one table of the ABI's status codes in words, which the
// host's strerror, the report's error kinds, the conformance kit and the fake host all read, and the
// host-table fill the test hosts share.
#include "frame/protocol_frame.hpp"
#include "support/fake_host.hpp"

#include <ntx/status.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <set>
#include <string>

TEST_CASE("every status code of the ABI has its own name, a text and a kind", "[status]") {
    std::set<std::string> names, texts;
    for (ntx_status_t s = NTX_OK; s >= NTX_E_TRAP; --s) {
        INFO("code " << s);
        CHECK(ntx::known_status(s));
        CHECK(std::string(ntx::status_name(s)).rfind("NTX_", 0) == 0);
        CHECK(std::strlen(ntx::status_text(s)) > 0);
        CHECK(std::strlen(ntx::status_kind(s)) > 0);
        names.insert(ntx::status_name(s));
        texts.insert(ntx::status_text(s));
    }
    CHECK(names.size() == static_cast<std::size_t>(1 - NTX_E_TRAP));
    CHECK(texts.size() == names.size());
    CHECK(std::string(ntx::status_name(NTX_E_TIMEOUT)) == "NTX_E_TIMEOUT");
    CHECK(std::string(ntx::status_text(NTX_E_TIMEOUT)) == "timed out");
    CHECK(std::string(ntx::status_kind(NTX_E_TIMEOUT)) == "timeout");
    CHECK(std::string(ntx::status_kind(NTX_E_TLS)) == "tls");
    CHECK(std::string(ntx::status_kind(NTX_E_NOFILE)) == "nofile");
    CHECK(std::string(ntx::status_kind(NTX_E_TRAP)) == "trap");
}

TEST_CASE("a code outside the ABI is unknown, never out of the table", "[status]") {
    for (ntx_status_t s : {NTX_E_TRAP - 1, -1000, 1, 42}) {
        INFO("code " << s);
        CHECK_FALSE(ntx::known_status(s));
        CHECK(std::string(ntx::status_name(s)) == "an unknown status");
        CHECK(std::string(ntx::status_text(s)) == "unknown status");
        CHECK(std::string(ntx::status_kind(s)) == "other");
    }
}

TEST_CASE("the host's strerror and error kinds are the shared table's", "[status]") {
    const ntx_host_api_t api = ntx::frame::make_host_api();
    REQUIRE(api.strerror);
    for (ntx_status_t s = 1; s >= NTX_E_TLS - 1; --s) {
        INFO("code " << s);
        CHECK(std::string(api.strerror(s)) == ntx::status_text(s));
        CHECK(std::string(ntx::frame::status_kind(s)) == ntx::status_kind(s));
    }
}

TEST_CASE("host_table fills every member of the fake host's table", "[status]") {
    ntx::test::FakeHost host(static_cast<ntx_plugin_entry_fn>(nullptr));
    const ntx_host_api_t &api = host.host_api();
    CHECK(api.size == sizeof(ntx_host_api_t));
    CHECK(api.abi_major == NTX_ABI_MAJOR);
    CHECK(api.abi_minor == NTX_ABI_MINOR);
    CHECK((api.log && api.action_complete && api.action_fail && api.progress && api.request_task));
    CHECK((api.timer_schedule && api.timer_cancel && api.socket_open && api.socket_send && api.socket_close));
    CHECK((api.socket_set_rate && api.fd_watch && api.fd_unwatch && api.now_ms && api.strerror));
    CHECK(std::string(api.strerror(NTX_E_IO)) == "I/O error");
}
