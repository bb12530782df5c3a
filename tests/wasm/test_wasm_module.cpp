// The wasm loader's module layer on its own: refusals at load with their messages, and a guest's calls
// (results, traps, the instruction budget, checked memory access). Guests from tests/wasm/*.wat.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>

#include "wasm/guest_block.hpp"
#include "wasm/host_imports.hpp"
#include "wasm/loop_instance.hpp"
#include "wasm/wasm_module.hpp"

using namespace ntx::wasm;

namespace {

std::string guest(const char* name) { return std::string(NTX_TEST_WASM_DIR) + "/" + name; }

std::string write_file(const std::string& name, const std::string& bytes) {
    std::string path = std::string(NTX_TEST_WASM_DIR) + "/unit-" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
}

std::string refusal(const std::string& path) {
    std::string error;
    auto m = Module::load(path, make_resolver(), error);
    CHECK(m == nullptr);
    return error;
}

// Runs ntx_run_action of misbehave.wasm for `call` with no host (Binding without a table).
Guest::Call run(Guest& g, const std::string& call) {
    Block b;
    uint32_t at = b.reserve(72);
    b.set<uint32_t>(at, 72);
    b.set_str(at + 36, call);
    Guest::Call c;
    uint32_t base = b.place(g, c);
    REQUIRE(base != 0);
    return g.call("ntx_run_action", {wabt::interp::Value::Make(uint32_t{1}), wabt::interp::Value::Make(base + at)});
}

}  // namespace

TEST_CASE("wasm: files that are not a core module are refused with what they are") {
    CHECK(refusal(write_file("text.wasm", "hello")) == "not a WebAssembly module (the file does not start with the \\0asm magic)");
    CHECK(refusal(write_file("short.wasm", std::string("\0asm\1", 5))) ==
          "truncated WebAssembly module: 5 bytes, the header alone is 8");
    CHECK(refusal(write_file("component.wasm", std::string("\0asm\x0d\0\1\0", 8))).find("a WebAssembly component") == 0);
    CHECK(refusal(write_file("v2.wasm", std::string("\0asm\2\0\0\0", 8))) == "unsupported WebAssembly binary version 2 (expected 1)");
    CHECK(refusal(write_file("garbage.wasm", std::string("\0asm\1\0\0\0\x01\xff\xff", 11))).find("invalid WebAssembly module at offset 0x") == 0);
    CHECK(refusal(guest("nope.wasm")) == "cannot read the file");
}

TEST_CASE("wasm: imports are checked against the host's, by name and signature") {
    CHECK(refusal(guest("bad_import.wasm")) ==
          "imports ntx.fd_watch (func (param i32 i32 i32 i32 i32) (result i32)), which this host does not provide");
    CHECK(refusal(guest("bad_signature.wasm")) ==
          "imports ntx.log (func (param i32) (result i32)), but the host provides (func (param i32 i32 i32 i32))");
    CHECK(refusal(guest("missing_export.wasm")).find("missing export 'ntx_run_action' (func (param i32 i32) (result i32))") == 0);
}

TEST_CASE("wasm: a guest's calls return, trap, or run out of budget; its memory is bounds-checked") {
    setenv("NTX_WASM_FUEL", "100000", 1);
    std::string error;
    auto m = Module::load(guest("misbehave.wasm"), make_resolver(), error);
    unsetenv("NTX_WASM_FUEL");
    REQUIRE(m);
    CHECK(m->fuel() == 100000);
    Binding binding;  // no host: the ntx imports answer NTX_E_STATE
    std::string component = "unit";
    binding.component = &component;

    auto gp = m->instantiate();
    Guest& g = *gp;
    g.user = &binding;
    REQUIRE(g.start(error));
    Guest::Call c = g.call("ntx_abi_version", {});
    REQUIRE(c.ok());
    CHECK(c.results.at(0).Get<uint32_t>() == 0x10000);

    CHECK(run(g, "ok").ok());
    Guest::Call trap = run(g, "trap");
    CHECK(trap.outcome == Guest::Outcome::trap);
    CHECK(trap.message == "unreachable executed");
    // The thread is gone after a trap: every later call says so instead of running on broken state.
    CHECK(g.call("ntx_abi_version", {}).message == "the instance is unusable after an earlier trap");

    auto g2p = m->instantiate();
    Guest& g2 = *g2p;
    g2.user = &binding;
    REQUIRE(g2.start(error));
    Guest::Call loop = run(g2, "loop");
    CHECK(loop.outcome == Guest::Outcome::fuel);
    CHECK(loop.message == "ran past its budget of 100000 instructions");

    auto g3p = m->instantiate();
    Guest& g3 = *g3p;
    g3.user = &binding;
    REQUIRE(g3.start(error));
    Guest::Call bad = run(g3, "badptr");
    CHECK(bad.outcome == Guest::Outcome::trap);
    CHECK(bad.message == "ntx.action_complete: result pointer 0x7ffffff0 is outside the module's memory");

    auto g4p = m->instantiate();
    Guest& g4 = *g4p;
    g4.user = &binding;
    REQUIRE(g4.start(error));
    CHECK(g4.span(0, 2 * 65536) != nullptr);  // the module's 2 pages
    CHECK(g4.span(2 * 65536 - 1, 2) == nullptr);
    CHECK(g4.span(0xfffffff0u, 32) == nullptr);
    CHECK(g4.c_str(0x200) == std::optional<std::string>("misbehave"));
    CHECK(!g4.str(2 * 65536 - 4, 8));
    CHECK(run(g4, "exit").message == "proc_exit(3)");
}

// Not run by ctest (hidden tag): `ntx_wasm_unit_tests "[bench]"` prints the interpreter's cost of one
// action of a trivial module, as the adapter pays it (the ctx placed in memory, run_action, free).
TEST_CASE("wasm: cost of one interpreted action", "[.][bench]") {
    std::string error;
    auto m = Module::load(guest("misbehave.wasm"), make_resolver(), error);
    REQUIRE(m);
    Binding binding;
    std::string component = "bench";
    binding.component = &component;
    auto gp = m->instantiate();
    Guest& g = *gp;
    g.user = &binding;
    REQUIRE(g.start(error));
    const int n = 200000;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) REQUIRE(run(g, "ok").ok());
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
    WARN("one interpreted action (place ctx, ntx_run_action, ntx_action_complete import): " << ns / n << " ns");
}
