#include "ntx/host.hpp"

#include <atomic>

#include "core/core.hpp"
#include "report/html_report.hpp"
#include "report/junit.hpp"
#include "report/report_writer.hpp"

namespace ntx {

struct Host::Impl {
    // 0 running; 1 stop gracefully (in-flight actions get the grace period); 2 stop at once.
    std::atomic<int> stop{0};
};

Host::Host() : impl_(std::make_unique<Impl>()) {}
Host::~Host() = default;

void Host::validate(const std::string& res_dir, const RunOptions& options) {
    core::Core core(options);
    core.plan(res_dir);
}

Report Host::start(const std::string& res_dir, const RunOptions& options) {
    impl_->stop.store(0);
    // An output folder that cannot be written is bad input, found before anything runs.
    if (!options.out_dir.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(options.out_dir, ec);
        if (ec || !std::filesystem::is_directory(options.out_dir))
            throw InvalidInput({{options.out_dir, 0, 0,
                                 "--out: cannot create the output folder" + (ec ? ": " + ec.message() : std::string()),
                                 {}}});
    }
    core::Core core(options);
    core.plan(res_dir);
    Report report = core.execute(impl_->stop);
    // The summary first: it reaches the terminal even if the report file cannot be written.
    if (!options.quiet) report::print_summary(report, stdout);
    if (!options.out_dir.empty()) {
        try {
            report::write_json(report, std::filesystem::path(options.out_dir) / "report.json");
            report::write_junit(report, std::filesystem::path(options.out_dir) / "report.xml");
            report::write_html(report, std::filesystem::path(options.out_dir) / "report.html");
        } catch (const std::exception& e) {
            throw RuntimeFailure(std::string("the run ended but its reports could not be written: ") + e.what());
        }
    }
    // A lease still held at the end is an internal failure, whatever else the run did.
    if (auto leaks = report::lease_leaks(report); !leaks.empty()) throw RuntimeFailure(leaks);
    return report;
}

void Host::stop() noexcept {
    // Lock-free and async-signal-safe: a second call (a second Ctrl-C) stops at once.
    int level = impl_->stop.load();
    while (level < 2 && !impl_->stop.compare_exchange_weak(level, level + 1)) {
    }
}

}  // namespace ntx
