// ntx_example_run_res_dir RES_DIR: runs a res_dir the way `ntx run` does, from a harness.
// Exit 0 when the run passed its thresholds, 1 when not, 2 when the res_dir is invalid.
#include <cstdio>
#include <ntx/ntx.hpp>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: ntx_example_run_res_dir RES_DIR\n");
        return 2;
    }
    ntx::Host host;
    ntx::RunOptions options;
    options.progress_ms = 0;  // the end summary only
    try {
        ntx::Report report = host.start(argv[1], options);  // blocks; prints the end summary
        std::printf("%llu actions, %llu ok, thresholds %s\n", static_cast<unsigned long long>(report.total_actions),
                    static_cast<unsigned long long>(report.total_ok), report.thresholds_passed() ? "passed" : "FAILED");
        return report.thresholds_passed() && report.total_actions > 0 ? 0 : 1;
    } catch (const ntx::InvalidInput& e) {  // every problem of the res_dir, file:line:col
        for (const auto& d : e.diagnostics()) std::fprintf(stderr, "%s\n", d.to_string().c_str());
        return 2;
    } catch (const ntx::RuntimeFailure& e) {  // a plugin or the runtime failed
        std::fprintf(stderr, "run failed: %s\n", e.what());
        return 1;
    }
}
