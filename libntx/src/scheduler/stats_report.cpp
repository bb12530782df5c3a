#include "scheduler/stats_report.hpp"

#include <string>

#include "frame/protocol_frame.hpp"

namespace ntx::scheduler {

ActionReport action_report(const dsl::Script& script, uint32_t a, const ActionStats& st) {
    const auto& spec = script.actions[a];
    ActionReport ar;
    ar.name = spec.name;
    ar.component = script.components[spec.component].name;
    ar.call = spec.call;
    ar.ok = st.ok;
    ar.errors = st.errors;
    ar.timeouts = st.timeouts;
    ar.cancelled = st.cancelled;
    ar.retries = st.retries;
    ar.throttled = st.throttled;
    ar.dynamic = st.dynamic;
    ar.ad_hoc = spec.ad_hoc;
    ar.count = st.ok + st.errors + st.timeouts + st.cancelled;
    ar.bytes_sent = st.bytes_sent;
    ar.bytes_received = st.bytes_received;
    for (const ErrorKind& k : st.errors_by_code) {
        const char* kind = frame::status_kind(k.code);
        ar.errors_by_kind.emplace_back(kind, k.n);
        if (!k.first_reason.empty())
            ar.error_examples.push_back({kind, k.first_reason, k.first_user, k.first_task,
                                         static_cast<double>(k.first_at_ms) / 1000.0});
    }
    for (size_t c = 0; c < st.status_classes.size(); ++c)
        if (st.status_classes[c]) ar.status_classes.emplace_back(std::to_string(c + 1) + "xx", st.status_classes[c]);
    ar.latency = metrics::summarize(st.latency);
    return ar;
}

}  // namespace ntx::scheduler
