// ntx_example_live_progress HOST:PORT: runs a load in the background (Host::launch), prints the run's
// progress events as a subscriber receives them and its health while it runs, then stops it early
// with Run::stop() and reads the report. Exit 0 when the phases arrived in order and the report says
// the run was stopped.
#include <chrono>
#include <cstdio>
#include <mutex>
#include <ntx/ntx.hpp>
#include <string>
#include <vector>

namespace {

const char* phase_name(ntx::RunPhase p) {
    switch (p) {
    case ntx::RunPhase::initiating: return "initiating";
    case ntx::RunPhase::planning: return "planning";
    case ntx::RunPhase::executing: return "executing";
    case ntx::RunPhase::monitoring: return "monitoring";
    case ntx::RunPhase::closing: return "closing";
    }
    return "?";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: ntx_example_live_progress HOST:PORT\n");
        return 2;
    }
    // 10 users GET then think 50 ms, over and over, for up to 30 s: the example stops it long before.
    ntx::ScriptBuilder b;
    b.component("http").version("0.2.1").entry("http");
    b.action("get-asset").component("http").call("get").with("url", std::string("http://") + argv[1] + "/asset");
    b.workflow("browse").step("get-asset").think("50ms");
    b.scenario("browsers").workflow("browse").users(10).spawn_rate("100/s").task_duration("30s").max_duration("30s");

    // The subscriber runs on another thread than main: what it shares with main is locked.
    std::mutex mutex;
    std::vector<ntx::RunPhase> phases;
    ntx::RunOptions options;
    options.quiet = true;
    options.progress_subscribers.push_back([&](std::span<const ntx::ProgressEvent> batch) {
        std::lock_guard lock(mutex);
        for (const ntx::ProgressEvent& e : batch) {
            if (e.kind == "phase") phases.push_back(e.phase);
            std::printf("[%6llu ms] %s %s\n", static_cast<unsigned long long>(e.t_ms), e.kind.c_str(),
                        e.kind == "phase" ? phase_name(e.phase) : e.path.c_str());
        }
    });

    ntx::Host host;
    ntx::Run run = host.launch(b.build(), options);  // planned here; runs on its own thread
    // Watch it for a second, then stop it.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (std::chrono::steady_clock::now() < until && !run.wait_for(std::chrono::milliseconds(250))) {
        ntx::Health h = run.health();
        std::printf("health: %s, %.2f s\n", phase_name(h.phase), h.elapsed_s);
    }
    run.stop();
    ntx::Report report = run.wait();  // the report of what ran until the stop
    const auto& get = report.scenarios.at(0).actions.at(0);
    std::printf("stopped: interrupted=%d, %llu GETs ok, %llu errors\n", report.interrupted,
                static_cast<unsigned long long>(get.ok), static_cast<unsigned long long>(get.errors));

    std::lock_guard lock(mutex);
    const std::vector<ntx::RunPhase> expected{ntx::RunPhase::initiating, ntx::RunPhase::planning,
                                              ntx::RunPhase::executing, ntx::RunPhase::monitoring,
                                              ntx::RunPhase::closing};
    bool ok = phases == expected && report.interrupted && get.ok > 0 && run.health().state == ntx::RunState::finished;
    return ok ? 0 : 1;
}
