#include "ntx/host.hpp"

#include <atomic>

#include "core/core.hpp"
#include "report/report_writer.hpp"

namespace ntx {

struct Host::Impl {
    std::atomic<bool> stop{false};
};

Host::Host() : impl_(std::make_unique<Impl>()) {}
Host::~Host() = default;

void Host::validate(const std::string& res_dir, const RunOptions& options) {
    core::Core core(options);
    core.plan(res_dir);
}

Report Host::start(const std::string& res_dir, const RunOptions& options) {
    impl_->stop.store(false);
    core::Core core(options);
    core.plan(res_dir);
    Report report = core.execute(impl_->stop);
    if (!options.out_dir.empty()) report::write_json(report, std::filesystem::path(options.out_dir) / "report.json");
    if (!options.quiet) report::print_summary(report, stdout);
    return report;
}

void Host::stop() noexcept { impl_->stop.store(true); }

}  // namespace ntx
