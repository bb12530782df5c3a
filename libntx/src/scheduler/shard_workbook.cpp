// A shard's workbook bookkeeping (its ledger's entries: states, fields, retries) and its flush to the
// progress bus, with the plugins' progress events. Moved here as a unit from shard.cpp.
#include "scheduler/shard.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "progress/bus.hpp"
#include "scheduler/scheduler.hpp"
#include "workbook/archive.hpp"

namespace ntx::scheduler {

// ---- the workbook ----------------------------------------------------------------------------------------

void Shard::wb_close(User& u, workbook::State final_state) {
    if (u.wb == workbook::kNoEntry || u.branch_parent) return;  // a branch writes to its parent's entry, never closes it
    // The first exit decides (a rollback before its end_task): the user lets go of the entry, which the
    // next flush sends out and releases; its next task opens an entry of its own.
    ledger_.close(u.wb, final_state);
    u.wb = workbook::kNoEntry;
}

void Shard::wb_apply(User& u, const dsl::Step& step) {
    if (u.wb == UINT32_MAX) return;
    const auto& schema = scheduler_.script().workbook;
    std::string value, error;
    for (const auto& [id, t] : step.updates) {
        value.clear();
        if (!t.render(u, value, error)) {
            // A value that cannot be rendered is counted and logged; the field keeps its value.
            count_condition_error(u, fmt::format("update-workbook {}: {}", schema.field(id).path, error));
            continue;
        }
        ledger_.set_field(u.wb, id, value, schema);
    }
}

void Shard::workbook_set(User& u, uint32_t field, std::string_view value) {
    const auto& schema = scheduler_.script().workbook;
    if (u.wb == UINT32_MAX || field < workbook::kBuiltins || field >= schema.size()) return;
    ledger_.set_field(u.wb, field, value, schema);
}

// The current action's retries left: its own retry.max (or its on-error's retry) less the attempts made.
void Shard::wb_retry_left(User& u) {
    const auto& a = scheduler_.script().actions[u.action];
    uint32_t max = a.retry_max ? a.retry_max : a.on_error ? a.on_error->retry_max : u.workflow->on_error.retry_max;
    auto left = static_cast<uint16_t>(std::min<uint32_t>(max - std::min(max, u.attempts), UINT16_MAX));
    if (u.wb == workbook::kNoEntry) return;
    if (ledger_.at(u.wb).retry_left != left || u.attempts == 0) ledger_.set_retry_left(u.wb, left);
}

void Shard::flush_workbook() {
    const auto& schema = scheduler_.script().workbook;
    progress::Bus* bus = scheduler_.progress_bus();
    if (bus && bus->active() && !ledger_.dirty().empty()) {
        progress::Ring& ring = bus->ring(index_);
        const uint64_t now = scheduler_.now_ms();
        for (uint32_t i : ledger_.dirty()) {
            const workbook::Entry& e = ledger_.at(i);
            progress::Record* r = ring.claim();
            if (!r) continue;  // the ring is full: dropped (the ring counts each)
            r->kind = progress::Record::Kind::entry;
            r->user_id = e.user_id;
            r->task_id = e.task_id;
            r->t_ms = now;
            r->scenario = e.scenario;
            r->action = e.current_action;
            r->timeout_at_ms = e.timeout_at_ms;
            r->response_us = e.response_us;
            r->retry_left = e.retry_left;
            r->dirty = e.dirty;
            r->state = e.state;
            r->last_event = e.last_event;
            r->dynamic = e.dynamic;
            r->field_count = 0;
            if (e.dirty & workbook::d_fields)
                for (const auto& f : e.fields) {
                    if (!f.dirty) continue;
                    if (r->fields.size() <= r->field_count) r->fields.emplace_back();
                    auto& slot = r->fields[r->field_count++];
                    slot.first = f.id;
                    slot.second.assign(f.value);
                }
            ring.commit();
        }
    }
    ledger_.clear_dirty(schema);
    // The tasks that ended since the last flush: their entries go to the archive (which keeps what the
    // retention asks for) and their slots to the next tasks. The ledger holds only running tasks.
    workbook::Archive* archive = scheduler_.workbook_archive();
    workbook::Archive* stream = scheduler_.task_stream();
    const bool archiving = archive && archive->active(), streaming = stream && stream->active();
    ledger_.release_closed([&](const workbook::Entry& e) {
        if (archiving) archive->keep(index_, e, kept_entries_);
        if (streaming) stream->keep(index_, e, streamed_entries_);
    });
    if (archiving) archive->submit(kept_entries_);
    if (streaming) stream->submit(streamed_entries_);
}

void Shard::push_plugin_progress(User& u, uint32_t component, const ntx_progress_t& p) {
    progress::Bus* bus = scheduler_.progress_bus();
    if (!bus || !bus->active()) return;
    progress::Ring& ring = bus->ring(index_);
    progress::Record* r = ring.claim();
    if (!r) return;  // counted as dropped
    r->kind = progress::Record::Kind::plugin;
    r->user_id = u.user_id;
    r->task_id = u.task_id;
    r->t_ms = scheduler_.now_ms();
    r->scenario = u.scenario;
    r->action = u.action;
    r->dynamic = u.dynamic;
    r->scope = static_cast<uint8_t>(std::clamp<int32_t>(p.scope, 0, 4));
    r->progress = p.progress;
    r->component = component;
    r->kv_count = 0;
    if (NTX_HAS_MEMBER(&p, ntx_progress_t, field_count) && p.fields)
        for (size_t i = 0; i < p.field_count; ++i) {
            if (r->kv.size() <= r->kv_count) r->kv.emplace_back();
            auto& kv = r->kv[r->kv_count++];
            kv.first.assign(p.fields[i].key.ptr ? p.fields[i].key.ptr : "", p.fields[i].key.len);
            kv.second.assign(p.fields[i].value.ptr ? p.fields[i].value.ptr : "", p.fields[i].value.len);
        }
    ring.commit();
}

}  // namespace ntx::scheduler
