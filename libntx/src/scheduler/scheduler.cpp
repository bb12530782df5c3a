#include "scheduler/scheduler.hpp"

#include "frame/protocol_frame.hpp"
#include "progress/bus.hpp"

namespace ntx::scheduler {

Scheduler::Scheduler(const dsl::Script& script, std::vector<std::unique_ptr<resource::PairPool>>& pools,
                     frame::ProtocolFrame& frame, unsigned loops, Services services)
    : script_(script), pools_(pools), frame_(frame), loops_(loops), shared_(new ScenarioShared[script.scenarios.size()]),
      globals_(script.variables.size()), names_(names_of(script)), services_(std::move(services)) {
    task_scoped_.resize(script.variables.size(), false);
    for (size_t i = 0; i < script.variable_scopes.size(); ++i)
        task_scoped_[i] = script.variable_scopes[i] == dsl::VarScope::task || script.variable_scopes[i] == dsl::VarScope::workbook;
    dynamic_workflows_.resize(script.actions.size());
    for (uint32_t a = 0; a < script.actions.size(); ++a) {
        dsl::WorkflowSpec& wf = dynamic_workflows_[a];
        wf.name = "dynamic:" + script.actions[a].name;
        wf.steps.push_back(dsl::Step::of_action(a));
        wf.on_timeout.route = dsl::Route::timeout_out;
    }
    for (unsigned i = 0; i < loops; ++i) shards_.push_back(std::make_unique<Shard>(*this, i));
}

// The frame's action slots (their timers) go before the loops they wait on.
Scheduler::~Scheduler() { frame_.detach_loops(); }

workbook::Names Scheduler::names_of(const dsl::Script& script) {
    workbook::Names names;
    names.program = script.res_dir.filename().string();
    if (names.program.empty()) names.program = script.res_dir.parent_path().filename().string();
    for (const auto& sc : script.scenarios) {
        names.scenarios.push_back(sc.name);
        names.workflows.push_back(sc.workflow < script.workflows.size() ? script.workflows[sc.workflow].name : std::string());
    }
    for (const auto& a : script.actions) names.actions.push_back(a.name);
    return names;
}

void Scheduler::request_stop(std::string reason) {
    {
        std::lock_guard lock(stop_reason_mutex_);
        if (!stop_reason_.empty()) return;
        stop_reason_ = std::move(reason);
        frame_.log().error("{}: stopping the run", stop_reason_);
    }
    int expected = 0;
    if (stop_) stop_->compare_exchange_strong(expected, 1);
}

std::string Scheduler::stop_reason() const {
    std::lock_guard lock(stop_reason_mutex_);
    return stop_reason_;
}

// What run() and begin_manual() share: the run's clock starts, the frame gets the loops and sinks.
void Scheduler::attach(std::atomic<int>& stop) {
    stop_ = &stop;
    started_ = net::RunClock::now();
    std::vector<net::Loop*> all;
    std::vector<frame::ActionSink*> sinks;
    for (auto& s : shards_) {
        all.push_back(&s->loop());
        sinks.push_back(s.get());
    }
    frame_.attach_loops(std::move(all), std::move(sinks), started_);
    shards_running_ = static_cast<unsigned>(shards_.size());
    spawning_shards_ = static_cast<unsigned>(shards_.size());
    phase_ = static_cast<uint8_t>(RunPhase::executing);
}

void Scheduler::run(std::atomic<int>& stop) {
    attach(stop);
    // Each loop starts its shard itself and stops itself when the shard is done: no thread but the
    // loop's own ever touches its io_context while it runs.
    for (auto& s : shards_) s->loop().start([shard = s.get()] { shard->begin(); });
    {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return shards_running_ == 0; });
    }
    for (auto& s : shards_) s->loop().join();
    // Loops are stopped: close what plugins left open (idle keep-alive sockets are released with
    // their users; this catches the rest) before the plugins are released.
    for (auto& s : shards_) s->loop().close_all();
}

void Scheduler::begin_manual(std::atomic<int>& stop) {
    attach(stop);
    for (auto& s : shards_) s->loop().adopt_current_thread();  // this thread runs them (poll)
    for (auto& s : shards_) s->begin();
}

void Scheduler::poll() {
    for (auto& s : shards_) {
        auto& io = s->loop().io();
        // Asio's reactor looks at its timers when its timerfd fires (real time): a timer that expires
        // before every other one re-arms that fd to fire at once, so what is due on the run's clock
        // runs in this poll. Again while handlers ran: they may have made more timers due.
        for (int round = 0; round < 8 && !io.stopped(); ++round) {
            net::RunTimer poke(io);
            poke.expires_at(net::RunClock::now() - std::chrono::hours(24));
            poke.async_wait([](const boost::system::error_code&) {});
            if (io.poll() <= 1) break;  // only the poke itself ran
        }
    }
}

bool Scheduler::finished() {
    std::lock_guard lock(mutex_);
    return shards_running_ == 0;
}

void Scheduler::shard_spawning_done() {
    if (spawning_shards_.fetch_sub(1) != 1) return;
    phase_ = static_cast<uint8_t>(RunPhase::monitoring);
    if (progress::Bus* bus = services_.bus) {
        ProgressEvent ev;
        ev.t_ms = now_ms();
        ev.kind = "phase";
        ev.scope = ProgressScope::program;
        ev.phase = RunPhase::monitoring;
        ev.path = names_.program;
        bus->publish(std::move(ev));
    }
}

void Scheduler::shard_done() {
    std::lock_guard lock(mutex_);
    if (shards_running_ > 0) --shards_running_;
    cv_.notify_all();
}

}  // namespace ntx::scheduler
