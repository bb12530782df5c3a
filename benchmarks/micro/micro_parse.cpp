// Planning cost: read + validate + compile (templates and conditions to their AST, the variable graph)
// of a script with 1,000 actions and 100 workflows. Target (issue 3): under 100 ms. The script is
// generated once into a temp res_dir; each iteration is one dsl::load_res_dir, as `ntx validate` does.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "alloc_counter.hpp"
#include "dsl/script.hpp"
#include "resource/source_files.hpp"

namespace {

// 100 workflows of 10 actions each: GET (saves), if on its status, POST of its body, a loop, think.
std::string big_script(int workflows, int per_workflow) {
    std::string s = "version: \"1.0\"\ncomponents:\n  - {name: http, version: \"0.2.1\", entry: http}\n"
                    "resources:\n  pool:\n    type: pair_pool\n    config:\n      manifest: ./pairs.csv\n"
                    "      parser: {format: csv, fields: [ip, port]}\nactions:\n";
    for (int w = 0; w < workflows; ++w)
        for (int a = 0; a < per_workflow; ++a) {
            std::string name = "a" + std::to_string(w) + "_" + std::to_string(a);
            if (a % 2 == 0)
                s += "  " + name + ": {component: http, call: get, with: {url: \"http://{{resource.ip}}:{{resource.port}}/asset?u={{env.user_id}}\", "
                     "headers: {X-Trace: \"{{env.task_id}}\"}}, save-as: v" + name + ", timeout: 2s}\n";
            else {
                std::string prev = "va" + std::to_string(w) + "_" + std::to_string(a - 1);
                s += "  " + name + ": {component: http, call: post, with: {url: \"http://{{resource.ip}}:{{resource.port}}/asset\", "
                     "body: \"{{" + prev + ".body}}\", headers: {Content-Type: application/json}}, "
                     "retry: {max: 2, backoff: 50ms}}\n";
            }
        }
    s += "workflows:\n";
    for (int w = 0; w < workflows; ++w) {
        s += "  w" + std::to_string(w) + ":\n    timeout: 30s\n    steps:\n";
        for (int a = 0; a < per_workflow; a += 2) {
            std::string get = "a" + std::to_string(w) + "_" + std::to_string(a);
            std::string post = "a" + std::to_string(w) + "_" + std::to_string(a + 1);
            s += "      - ref: " + get + "\n";
            s += "      - if: \"v" + get + ".status == 200 && length(v" + get + ".body) > 0\"\n";
            s += "        then: [{ref: " + post + "}]\n        else: [{goto: error_out}]\n";
            s += "      - loop: {count: 2}\n        steps: [{think: 10ms}]\n";
        }
    }
    s += "load:\n  scenarios:\n";
    for (int w = 0; w < workflows; ++w)
        s += "    - {name: s" + std::to_string(w) + ", workflow: w" + std::to_string(w) +
             ", user-count: 10, spawn-rate: 10/s, user: {inherit: [pool]}}\n";
    return s;
}

void BM_ParseScript1000Actions(benchmark::State& state) {
    const auto dir = std::filesystem::temp_directory_path() / ("ntx-bench-parse-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "script.yaml") << big_script(100, 10);
    std::ofstream(dir / "pairs.csv") << "ip,port\n127.0.0.1,20000\n";
    size_t actions = 0;
    for (auto _ : state) {
        std::vector<ntx::Diagnostic> diagnostics;
        auto script = ntx::dsl::load_res_dir(dir, ntx::resource::file_reader(), diagnostics);
        if (!diagnostics.empty()) {
            state.SkipWithError(diagnostics.front().to_string().c_str());
            break;
        }
        actions = script.actions.size();
        benchmark::DoNotOptimize(script);
    }
    state.counters["actions"] = static_cast<double>(actions);
    std::filesystem::remove_all(dir);
}
BENCHMARK(BM_ParseScript1000Actions)->Unit(benchmark::kMillisecond)->MinTime(1.0);

}  // namespace
