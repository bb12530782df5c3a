// ntx_example_tri_phase HOST:PORT [USERS]: examples/http-tri-phase (GET -> POST the body -> DELETE,
// each user on an ip:port leased from a pool) written with ntx::ScriptBuilder instead of YAML.
// It prints the script.yaml the builder wrote, runs it, and exits 0 when every action succeeded.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ntx/ntx.hpp>
#include <string>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: ntx_example_tri_phase HOST:PORT [USERS]\n");
        return 2;
    }
    const std::string target = argv[1];
    const unsigned users = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 50;

    // The pool's manifest: one ip,port row per user (here all the same server).
    namespace fs = std::filesystem;
    fs::path dir = fs::temp_directory_path() / ("ntx-tri-phase-" + std::to_string(getpid()));
    fs::create_directories(dir);
    {
        std::ofstream csv(dir / "resource.csv");
        csv << "ip,port\n";
        auto colon = target.rfind(':');
        for (unsigned i = 0; i < users; ++i) csv << target.substr(0, colon) << ',' << target.substr(colon + 1) << '\n';
    }

    ntx::ScriptBuilder b;
    b.base_dir(dir.string());  // where resource.csv is read from
    b.component("http").version("0.2.1").entry("http").capabilities({"get", "post", "delete"});
    b.resource_manager();
    b.pair_pool("ip-port-pool").manifest("resource.csv", {"ip", "port"}).capacity(users).ttl("120s");
    const std::string url = "http://{{resource.ip}}:{{resource.port}}/asset";
    b.action("probe-get").component("http").call("get").with("url", url).timeout("2s").save_as("asset");
    b.action("push-post")
        .component("http")
        .call("post")
        .with("url", url)
        .with("body", "{{asset.body}}")
        .with("headers.Content-Type", "application/json")
        .timeout("2s");
    b.action("purge-delete").component("http").call("delete").with("url", url).timeout("2s");
    b.workflow("http_tri_phase").step("probe-get").step("push-post").step("purge-delete").timeout("5s").on_error_goto(
        "error_out");
    b.scenario("http-bulk").workflow("http_tri_phase").users(users).spawn_rate("200/s").inherit("ip-port-pool");
    b.config("tick", "20ms");

    int rc = 1;
    try {
        ntx::BuiltScript script = b.build();
        std::printf("--- script.yaml, as the builder wrote it ---\n%s---\n", script.script_yaml().c_str());
        ntx::Host host;
        ntx::RunOptions options;
        options.quiet = true;
        ntx::Report report = host.start(script, options);
        for (const auto& a : report.scenarios.at(0).actions)
            std::printf("%-13s ok %llu of %llu, p99 %.2f ms\n", a.name.c_str(), static_cast<unsigned long long>(a.ok),
                        static_cast<unsigned long long>(a.count), a.latency.p99_ms);
        bool all_ok = report.scenarios.at(0).actions.size() == 3;
        for (const auto& a : report.scenarios.at(0).actions) all_ok = all_ok && a.ok == users && a.count == users;
        rc = all_ok ? 0 : 1;
    } catch (const ntx::InvalidInput& e) {  // diagnostics point at the builder calls above
        std::fprintf(stderr, "%s\n", e.what());
        rc = 2;
    }
    fs::remove_all(dir);
    return rc;
}
