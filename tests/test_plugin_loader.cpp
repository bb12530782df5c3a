#include <catch2/catch.hpp>

#include "core/core.hpp"
#include "frame/protocol_frame.hpp"
#include "plugin/plugin_loader.hpp"
#include "support/temp_res_dir.hpp"

using namespace ntx;
using ntx::test::TempResDir;

namespace {

const std::string kBroken = NTX_TEST_BROKEN_PLUGIN_DIR;

std::string load_error(const std::string& path) {
    plugin::PluginLoader loader({});
    auto api = frame::make_host_api();
    std::string error;
    auto p = loader.load(path, &api, error);
    CHECK_FALSE(p);
    return error;
}

std::string script_with(const std::string& entry, const std::string& version, const std::string& call) {
    return "components:\n"
           "  - name: probe\n"
           "    version: \"" + version + "\"\n"
           "    entry: " + entry + "\n"
           "workflows:\n"
           "  wf:\n"
           "    steps:\n"
           "      - ref: a\n"
           "actions:\n"
           "  a:\n"
           "    component: probe\n"
           "    call: " + call + "\n"
           "load:\n"
           "  scenarios:\n"
           "    - workflow: wf\n";
}

std::vector<Diagnostic> plan(const TempResDir& dir, std::vector<std::string> plugin_paths = {}) {
    RunOptions opts;
    opts.plugin_paths = std::move(plugin_paths);
    core::Core core(opts);
    try {
        core.plan(dir.path());
    } catch (const InvalidInput& e) {
        return e.diagnostics();
    }
    return {};
}

// Plans a res_dir whose script calls `call` of the probe plugin at `entry` (requiring `version`);
// planning must find exactly one problem, which is returned.
Diagnostic only_planning_error(const std::string& entry, const std::string& version, const std::string& call,
                               std::vector<std::string> plugin_paths = {}) {
    TempResDir dir;
    dir.write("script.yaml", script_with(entry, version, call));
    auto d = plan(dir, std::move(plugin_paths));
    REQUIRE(d.size() == 1);
    return d[0];
}

}  // namespace

TEST_CASE("a good C99 plugin loads and declares itself", "[plugin]") {
    plugin::PluginLoader loader({});
    auto api = frame::make_host_api();
    std::string error;
    auto p = loader.load(kBroken + "/ntx_probe.so", &api, error);
    REQUIRE(p);
    CHECK(std::string(p->api.name) == "probe");
    CHECK(std::string(p->api.version) == "1.2.0");
    CHECK(p->capabilities == std::vector<std::string>{"raw", "sleep", "fail", "late", "flaky", "spawn"});
}

TEST_CASE("the loader refuses what is not a plugin, with a clear message", "[plugin]") {
    CHECK_THAT(load_error(kBroken + "/ntx_not_a_plugin.so"), Catch::Contains("does not export 'ntx_plugin_entry'"));
    TempResDir dir;
    dir.write("fake.so", "this is text, not an ELF file\n");
    CHECK_THAT(load_error((dir.path() / "fake.so").string()), Catch::Contains("is not a loadable plugin"));
}

TEST_CASE("the loader refuses an ABI major mismatch and a newer minor", "[plugin]") {
    const std::string minor = std::to_string(NTX_ABI_MINOR);
    CHECK_THAT(load_error(kBroken + "/ntx_probe_abi2.so"),
               Catch::Contains("was built for plugin ABI 2." + minor + ", this host speaks ABI 1." + minor));
    CHECK_THAT(load_error(kBroken + "/ntx_probe_minor99.so"),
               Catch::Contains("needs plugin ABI 1.99, newer than this host's 1." + minor));
}

TEST_CASE("planning rejects a semver-incompatible plugin at the version's position", "[plugin]") {
    const auto d = only_planning_error(kBroken + "/ntx_probe_v9.so", "1.0.0", "raw");
    CHECK(d.line == 3);
    CHECK(d.column == 14);
    CHECK_THAT(d.message, Catch::Contains("requires version 1.0.0 but plugin ntx_probe_v9.so is version 9.0.0"));
}

TEST_CASE("planning rejects a call the plugin does not declare", "[plugin]") {
    const auto d = only_planning_error(kBroken + "/ntx_probe.so", "1.1.0", "sleeep");
    CHECK(d.line == 12);
    CHECK(d.column == 11);
    CHECK_THAT(d.message, Catch::Contains("calls 'sleeep', which plugin 'probe' does not declare (it declares: raw, sleep, fail, late, flaky, spawn)"));
    CHECK(d.hint == "did you mean 'sleep'?");
}

TEST_CASE("bare plugin names are found on the search path; unknown ones are reported", "[plugin]") {
    TempResDir dir;
    dir.write("script.yaml", script_with("probe", "1.0.0", "raw"));
    CHECK(plan(dir, {kBroken}).empty());
    const auto d = only_planning_error("nosuch", "1.0.0", "raw", {kBroken});
    CHECK(d.line == 4);
    CHECK_THAT(d.message, Catch::Contains("no plugin named 'nosuch'"));
}
