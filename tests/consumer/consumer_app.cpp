// Validates the bundled example with the installed plugins (EXAMPLE_DIR "-": skipped), then runs a res_dir that uses the plugin
// this project built with ntx_add_protocol. Exit 0 when both behave.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <ntx/ntx.hpp>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: consumer_app EXAMPLE_DIR PLUGIN_DIR WORK_DIR\n");
        return 2;
    }
    ntx::Host host;
    try {
        // The shipped http plugin is found next to the installed libntx; "-" (a package without the
        // shipped plugins: the static one) skips this.
        if (std::string_view(argv[1]) != "-") host.validate(argv[1]);
    } catch (const ntx::InvalidInput& e) {
        std::fprintf(stderr, "example did not validate:\n%s\n", e.what());
        return 1;
    }
    std::filesystem::path res = std::filesystem::path(argv[3]) / "hello-res";
    std::filesystem::create_directories(res);
    std::ofstream(res / "script.yaml") << "components:\n"
                                          "  - {name: hello, version: \"1.0.0\", entry: hello}\n"
                                          "workflows:\n"
                                          "  wf: {steps: [{ref: hi}, {ref: hi}]}\n"
                                          "actions:\n"
                                          "  hi: {component: hello, call: greet, save-as: g}\n"
                                          "load:\n"
                                          "  scenarios: [{name: s, workflow: wf, user-count: 50}]\n";
    ntx::RunOptions options;
    options.plugin_paths = {argv[2]};
    options.quiet = true;
    ntx::Report report = host.start(res.string(), options);
    const auto& a = report.scenarios.at(0).actions.at(0);
    std::printf("consumer: %llu ok of %llu\n", static_cast<unsigned long long>(a.ok), static_cast<unsigned long long>(a.count));
    return a.ok == 100 && a.count == 100 && report.scenarios[0].completed == 50 ? 0 : 1;
}
