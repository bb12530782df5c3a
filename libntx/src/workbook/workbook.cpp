#include "workbook/workbook.hpp"

#include "core/log_mask.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace ntx::workbook {
namespace json = boost::json;

namespace {

constexpr std::string_view kStateNames[kStates] = {
    "executing.waiting_resource", "executing.running_action", "executing.thinking", "executing.throttled",
    "monitoring.retry",           "closing.done",             "closing.error",      "closing.timeout",
    "closing.rollback",           "closing.stopped",
};

constexpr std::string_view kBuiltinPaths[kBuiltins] = {
    "user_id",
    "task_id",
    "timeline.phase",
    "timeline.start_at",
    "timeline.timeout_at",
    "execution.owner",
    "execution.current_action",
    "execution.retry_left",
    "execution.evidence.last_event",
    "execution.evidence.response_ms",
    "governance.scope_trace",
};

constexpr std::string_view kBuiltinAliases[kBuiltins] = {
    "user_id",        "task_id",    "state",      "start_at", "timeout_at", "owner",
    "current_action", "retry_left", "evidence.last_event", "evidence.response_ms", "scope_trace",
};

}  // namespace

const char* const kSections[6] = {"timeline", "execution", "governance", "telemetry", "registers", "communications"};

bool is_section(std::string_view name) {
    for (const char* s : kSections)
        if (name == s) return true;
    return false;
}

std::string_view state_name(State s) { return kStateNames[static_cast<size_t>(s)]; }

std::optional<State> state_from_name(std::string_view name) {
    for (size_t i = 0; i < kStates; ++i)
        if (kStateNames[i] == name) return static_cast<State>(i);
    return std::nullopt;
}

uint8_t state_phase(State s) {
    if (s == State::monitoring_retry) return 3;
    return is_final(s) ? 4 : 2;
}

std::string_view last_event_name(LastEvent e) {
    switch (e) {
    case LastEvent::none: return "";
    case LastEvent::ok: return "ok";
    case LastEvent::error: return "error";
    case LastEvent::timeout: return "timeout";
    case LastEvent::cancelled: return "cancelled";
    }
    return "";
}

Schema::Schema() {
    for (uint32_t i = 0; i < kBuiltins; ++i) {
        fields_.push_back({std::string(kBuiltinPaths[i]), {}});
        if (kBuiltinAliases[i] != kBuiltinPaths[i]) aliases_.emplace_back(std::string(kBuiltinAliases[i]), i);
    }
}

std::string_view Schema::builtin_alias(uint32_t id) { return id < kBuiltins ? kBuiltinAliases[id] : std::string_view{}; }

std::optional<uint32_t> Schema::add_field(std::string path, std::string default_value) {
    if (find(path)) return std::nullopt;
    fields_.push_back({std::move(path), std::move(default_value)});
    return static_cast<uint32_t>(fields_.size() - 1);
}

void Schema::mask_fields(const std::vector<std::string>& names) {
    auto masker = std::make_shared<const core::Masker>(names);
    for (uint32_t id = kBuiltins; id < fields_.size(); ++id) fields_[id].masked = masker->masks(fields_[id].path);
    if (!masker->empty()) masker_ = std::move(masker);
}

std::string Schema::mask_value(std::string_view value) const {
    return masker_ ? masker_->mask(value) : std::string(value);
}

uint32_t Schema::add_register(std::string_view name) {
    std::string path = "registers." + std::string(name);
    for (uint32_t i = 0; i < fields_.size(); ++i)
        if (fields_[i].path == path) return i;
    fields_.push_back({path, {}});
    uint32_t id = static_cast<uint32_t>(fields_.size() - 1);
    if (!find(name)) aliases_.emplace_back(std::string(name), id);
    return id;
}

bool Schema::add_alias(std::string alias, uint32_t id) {
    for (const auto& f : fields_)
        if (f.path == alias) return false;
    for (const auto& [a, target] : aliases_)
        if (a == alias) return target == id;  // the same alias twice is harmless
    aliases_.emplace_back(std::move(alias), id);
    return true;
}

std::optional<uint32_t> Schema::find(std::string_view path) const {
    for (uint32_t i = 0; i < fields_.size(); ++i)
        if (fields_[i].path == path) return i;
    for (const auto& [a, id] : aliases_)
        if (a == path) return id;
    return std::nullopt;
}

std::vector<std::string_view> Schema::names() const {
    std::vector<std::string_view> out;
    for (const auto& f : fields_) out.push_back(f.path);
    for (const auto& a : aliases_) out.push_back(a.first);
    return out;
}

void append_value(const Schema& schema, const Names& names, const Entry& e, uint32_t id, std::string& out) {
    auto scenario = [&]() -> std::string_view {
        return e.scenario < names.scenarios.size() ? std::string_view(names.scenarios[e.scenario]) : std::string_view();
    };
    auto workflow = [&]() -> std::string_view {
        return e.scenario < names.workflows.size() ? std::string_view(names.workflows[e.scenario]) : std::string_view();
    };
    switch (id) {
    case f_user_id: fmt::format_to(std::back_inserter(out), "{}", e.user_id); return;
    case f_task_id: fmt::format_to(std::back_inserter(out), "{}", e.task_id); return;
    case f_state: out += state_name(e.state); return;
    case f_start_at: fmt::format_to(std::back_inserter(out), "{}", e.start_at_ms); return;
    case f_timeout_at:
        if (e.timeout_at_ms) fmt::format_to(std::back_inserter(out), "{}", e.timeout_at_ms);
        return;
    case f_owner: fmt::format_to(std::back_inserter(out), "{}/{}", scenario(), workflow()); return;
    case f_current_action:
        if (e.current_action < names.actions.size()) out += names.actions[e.current_action];
        return;
    case f_retry_left: fmt::format_to(std::back_inserter(out), "{}", e.retry_left); return;
    case f_last_event: out += last_event_name(e.last_event); return;
    case f_response_ms:
        if (e.last_event != LastEvent::none) fmt::format_to(std::back_inserter(out), "{:.3f}", e.response_us / 1000.0);
        return;
    case f_scope_trace:
        fmt::format_to(std::back_inserter(out), "{}/{}/{}/task-{}", names.program, scenario(), workflow(), e.task_id);
        return;
    default: break;
    }
    for (const auto& f : e.fields)
        if (f.id == id) {
            out += f.value;
            return;
        }
    if (id < schema.size()) out += schema.field(id).default_value;
}

void Ledger::set_field(uint32_t i, uint32_t id, std::string_view value, const Schema& schema) {
    if (i == kNoEntry) return;
    Entry& e = entries_[i];
    for (auto& f : e.fields) {
        if (f.id != id) continue;
        if (f.value == value) return;
        f.value.assign(value.data(), value.size());
        f.dirty = true;
        mark(e, i, d_fields);
        return;
    }
    if (value == schema.field(id).default_value) return;  // still the default: nothing stored
    e.fields.push_back({id, true, std::string(value)});
    mark(e, i, d_fields);
}

void Ledger::clear_dirty(const Schema& schema) {
    for (uint32_t i : dirty_) {
        Entry& e = entries_[i];
        if (e.dirty & d_fields) {
            for (auto& f : e.fields) f.dirty = false;
            // A field set back to its default is stored no more.
            std::erase_if(e.fields, [&](const FieldValue& f) { return f.value == schema.field(f.id).default_value; });
        }
        e.dirty = 0;
    }
    dirty_.clear();
}

size_t Ledger::memory_bytes() const {
    size_t bytes = entries_.size() * sizeof(Entry) +
                   (dirty_.capacity() + free_.capacity() + closed_.capacity()) * sizeof(uint32_t);
    for (const auto& e : entries_) {
        bytes += e.fields.capacity() * sizeof(FieldValue);
        for (const auto& f : e.fields)
            if (f.value.capacity() > 15) bytes += f.value.capacity() + 1;
    }
    return bytes;
}

std::string entry_json(const Schema& schema, const Names& names, const Entry& e) {
    json::object o;
    o["user_id"] = e.user_id;
    o["task_id"] = e.task_id;
    o["scenario"] = e.scenario < names.scenarios.size() ? names.scenarios[e.scenario] : std::string();
    o["state"] = state_name(e.state);
    std::string s;
    append_value(schema, names, e, f_owner, s);
    o["owner"] = s;
    o["current_action"] = e.current_action < names.actions.size() ? json::value(names.actions[e.current_action]) : json::value(nullptr);
    o["retry_left"] = e.retry_left;
    o["start_at_ms"] = e.start_at_ms;
    o["timeout_at_ms"] = e.timeout_at_ms ? json::value(e.timeout_at_ms) : json::value(nullptr);
    o["scope_trace"] = json::array{json::string(names.program),
                                   json::string(e.scenario < names.scenarios.size() ? names.scenarios[e.scenario] : ""),
                                   json::string(e.scenario < names.workflows.size() ? names.workflows[e.scenario] : ""),
                                   json::string(fmt::format("task-{}", e.task_id))};
    json::object ev;
    ev["last_event"] = e.last_event == LastEvent::none ? json::value(nullptr) : json::value(last_event_name(e.last_event));
    ev["response_ms"] = e.last_event == LastEvent::none ? json::value(nullptr)
                                                        : json::value(static_cast<double>(e.response_us) / 1000.0);
    o["evidence"] = std::move(ev);
    o["origin"] = e.dynamic ? "dynamic" : "static";
    // The script's fields, by section, defaults included.
    json::object sections;
    for (uint32_t id = kBuiltins; id < schema.size(); ++id) {
        const std::string& path = schema.field(id).path;
        size_t dot = path.find('.');
        std::string section = path.substr(0, dot);
        std::string key = dot == std::string::npos ? path : path.substr(dot + 1);
        std::string value;
        append_value(schema, names, e, id, value);
        if (schema.field(id).masked && !value.empty()) value = "***";  // log.mask
        else value = schema.mask_value(value);
        auto it = sections.find(section);
        if (it == sections.end()) it = sections.emplace(section, json::object()).first;
        it->value().as_object()[key] = value;
    }
    if (!sections.empty()) o["sections"] = std::move(sections);
    return json::serialize(o);
}

}  // namespace ntx::workbook
