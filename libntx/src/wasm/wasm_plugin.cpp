// The adapter: a checked wasm module presented as an ntx_plugin_api_t, so that to the rest of ntx
// (ProtocolFrame, ntx plugins info, ntx-conformance) it is just another plugin. The C entry
// ntx_wasm_loader_open is the only symbol libntx_wasm.so exports.
#include <array>
#include <cstdio>
#include <mutex>
#include <utility>

#include "wasm/aot_guest.hpp"
#include "wasm/guest_block.hpp"
#include "wasm/host_imports.hpp"
#include "wasm/loop_instance.hpp"
#include "wasm/wasm_loader_api.h"
#include "ntx/wasm_guest.h"

namespace ntx::wasm {
namespace {

wi::Value u32v(uint32_t v) { return wi::Value::Make(v); }

// init and validate_action receive no state of the plugin's: a table per module tells them apart.
// Each loaded module holds one slot for the life of the process (a module is never unloaded).
constexpr size_t kSlots = 64;

struct Loaded {
    std::unique_ptr<Module> module;
    std::vector<const char*> capabilities;
    std::mutex probe_lock;  // validate_action runs on a probe instance, one call at a time
    std::unique_ptr<Guest> probe;
    Binding probe_binding;
    std::string component;
};

std::mutex g_slots_lock;
std::array<Loaded*, kSlots> g_slots{};

// Reads what ntx_describe declares, on a probe instance that never sees the host.
bool describe(Loaded& l, std::string& error) {
    l.probe = l.module->instantiate();
    l.probe->user = &l.probe_binding;
    if (!l.probe->start(error)) return false;
    Guest& g = *l.probe;
    Guest::Call c = g.call("ntx_abi_version", {});
    if (!c.ok()) {
        error = "ntx_abi_version trapped: " + c.message;
        return false;
    }
    uint32_t v = c.results.at(0).Get<uint32_t>();
    if ((v >> 16) != NTX_WASM_ABI_MAJOR || (v & 0xffff) > NTX_WASM_ABI_MINOR) {
        error = "built for the wasm guest contract " + std::to_string(v >> 16) + "." + std::to_string(v & 0xffff) +
                ", this host speaks " + std::to_string(NTX_WASM_ABI_MAJOR) + "." + std::to_string(NTX_WASM_ABI_MINOR);
        return false;
    }
    c = g.call("ntx_describe", {});
    if (!c.ok()) {
        error = "ntx_describe trapped: " + c.message;
        return false;
    }
    uint32_t at = c.results.at(0).Get<uint32_t>(), size = 0, name = 0, version = 0, caps = 0, count = 0;
    Declared& d = l.module->declared;
    if (!g.load(at, size) || size < 28 || !g.load(at + 4, d.abi_major) || !g.load(at + 8, d.abi_minor) ||
        !g.load(at + 12, name) || !g.load(at + 16, version) || !g.load(at + 20, caps) || !g.load(at + 24, count)) {
        error = "ntx_describe returned a pointer outside the module's memory (or a struct smaller than ntx_wasm_plugin_t)";
        return false;
    }
    auto n = g.c_str(name), ver = g.c_str(version);
    if (!n || !ver || count > 256) {
        error = "ntx_describe: name or version is not a NUL-terminated string in the module's memory";
        return false;
    }
    d.name = *n;
    d.version = *ver;
    for (uint32_t i = 0; i < count; ++i) {
        uint32_t p = 0;
        auto cap = g.load(caps + i * 4, p) ? g.c_str(p) : std::nullopt;
        if (!cap) {
            error = "ntx_describe: capability " + std::to_string(i) + " is not a string in the module's memory";
            return false;
        }
        d.capabilities.push_back(*cap);
    }
    for (const auto& cap : d.capabilities) l.capabilities.push_back(cap.c_str());
    l.component = d.name;
    l.probe_binding.component = &l.component;
    return true;
}

template <size_t N>
ntx_status_t init_slot(ntx_host_t* host, const ntx_init_ctx_t* ctx, void** plugin_state) {
    Loaded* l = g_slots[N];
    if (!l || !ctx || !plugin_state || !NTX_HAS_MEMBER(ctx, ntx_init_ctx_t, host_api) || !ctx->host_api) return NTX_E_ABI;
    auto run = std::make_unique<RunState>();
    run->module = l->module.get();
    run->host = host;
    run->api = ctx->host_api;
    run->component.assign(ctx->component.ptr ? ctx->component.ptr : "", ctx->component.len);
    run->res_dir.assign(ctx->res_dir.ptr ? ctx->res_dir.ptr : "", ctx->res_dir.len);
    run->config_json.assign(ctx->config_json.ptr ? ctx->config_json.ptr : "{}", ctx->config_json.ptr ? ctx->config_json.len : 2);
    run->loop_count = ctx->loop_count ? ctx->loop_count : 1;
    for (uint32_t i = 0; i < run->loop_count; ++i) {
        run->loops.push_back(std::make_unique<LoopInstance>(*run, i));
        std::string error;
        ntx_status_t refused = NTX_OK;
        if (!run->loops.back()->start(error, refused)) {
            run->loops.back()->log(NTX_LOG_ERROR, "wasm plugin '" + run->component + "': " + error);
            return refused != NTX_OK ? refused : NTX_E_INTERNAL;
        }
    }
    *plugin_state = run.release();
    return NTX_OK;
}

template <size_t N>
ntx_status_t validate_slot(const ntx_validate_ctx_t* ctx) {
    Loaded* l = g_slots[N];
    if (!l || !ctx) return NTX_E_INVALID;
    std::lock_guard lock(l->probe_lock);
    if (!l->probe) {
        std::string error;
        l->probe = l->module->instantiate();
        l->probe->user = &l->probe_binding;
        if (!l->probe->start(error)) {
            l->probe.reset();
            return NTX_E_INTERNAL;
        }
    }
    Block b;
    uint32_t at = b.reserve(48);
    b.set<uint32_t>(at, 48);
    b.set_str(at + 4, {ctx->component.ptr, ctx->component.len});
    b.set_str(at + 12, {ctx->action_name.ptr, ctx->action_name.len});
    b.set_str(at + 20, {ctx->call.ptr, ctx->call.len});
    uint32_t kvs = b.reserve(16 * ctx->param_count), flags = b.reserve(4 * ctx->param_count);
    for (size_t i = 0; i < ctx->param_count; ++i) {
        b.set_str(kvs + 16 * i, {ctx->params[i].key.ptr, ctx->params[i].key.len});
        b.set_str(kvs + 16 * i + 8, {ctx->params[i].value.ptr, ctx->params[i].value.len});
        b.set<uint32_t>(flags + 4 * i, ctx->param_flags ? ctx->param_flags[i] : 0);
    }
    b.set_ptr(at + 28, kvs);
    b.set<uint32_t>(at + 32, static_cast<uint32_t>(ctx->param_count));
    b.set_ptr(at + 36, flags);
    b.set<uint32_t>(at + 44, 1);  // report_ctx: the import finds the host's through the binding
    Guest& g = *l->probe;
    Guest::Call c;
    uint32_t base = b.place(g, c);
    l->probe_binding.validating = ctx;
    if (base) c = g.call("ntx_validate_action", {u32v(base + at)});
    l->probe_binding.validating = nullptr;
    if (!c.ok()) {
        l->probe.reset();
        return NTX_E_INTERNAL;
    }
    g.give_back(base);
    return c.results.at(0).Get<int32_t>();
}

template <size_t... I>
constexpr auto init_table(std::index_sequence<I...>) {
    return std::array<decltype(&init_slot<0>), sizeof...(I)>{&init_slot<I>...};
}
template <size_t... I>
constexpr auto validate_table(std::index_sequence<I...>) {
    return std::array<decltype(&validate_slot<0>), sizeof...(I)>{&validate_slot<I>...};
}
constexpr auto kInit = init_table(std::make_index_sequence<kSlots>{});
constexpr auto kValidate = validate_table(std::make_index_sequence<kSlots>{});

LoopInstance* loop_of(RunState& run, const void* slot) {
    UserSlot us(slot);
    if (!us.present() || us.loop() >= run.loops.size()) return nullptr;
    return run.loops[us.loop()].get();
}

uint32_t guest_user(const LoopInstance& li, const void* slot) {
    UserSlot us(slot);
    return us.present() && us.loop() == li.index && us.generation() == li.generation ? us.guest_ptr() : 0;
}

ntx_status_t run_action(void* state, ntx_action_t* action, const ntx_action_ctx_t* ctx) {
    auto* run = static_cast<RunState*>(state);
    if (!run || !action || !ctx || !ctx->user_data || ctx->loop_index >= run->loops.size()) return NTX_E_STATE;
    LoopInstance& li = *run->loops[ctx->loop_index];
    if (!li.loop) li.loop = ctx->loop;
    Guest* g = li.ready();
    if (!g) return NTX_E_INTERNAL;  // logged by ready()
    const uint32_t user = guest_user(li, *ctx->user_data);
    *ctx->user_data = UserSlot::encode(li.index, li.generation, user);  // on_error finds the loop by it

    BlockLease lease(li.block, li.block_busy);
    Block& b = *lease;
    uint32_t at = b.reserve(72), slot = b.reserve(4, 4), kvs = b.reserve(16 * ctx->param_count);
    b.set<uint32_t>(at, 72);
    b.set<uint64_t>(at + 8, ctx->task_id);
    b.set<uint64_t>(at + 16, ctx->user_id);
    b.set<uint32_t>(at + 24, ctx->action_id);
    b.set_str(at + 28, {ctx->action_name.ptr, ctx->action_name.len});
    b.set_str(at + 36, {ctx->call.ptr, ctx->call.len});
    for (size_t i = 0; i < ctx->param_count; ++i) {
        b.set_str(kvs + 16 * i, {ctx->params[i].key.ptr, ctx->params[i].key.len});
        b.set_str(kvs + 16 * i + 8, {ctx->params[i].value.ptr, ctx->params[i].value.len});
    }
    b.set_ptr(at + 44, kvs);
    b.set<uint32_t>(at + 48, static_cast<uint32_t>(ctx->param_count));
    b.set<uint32_t>(at + 52, ctx->timeout_ms);
    b.set<uint32_t>(at + 56, li.index + 1);  // the loop handle the guest passes back (never 0)
    b.set<uint32_t>(at + 60, li.index);
    b.set_ptr(at + 64, slot);
    b.set<uint32_t>(slot, user);
    if (NTX_HAS_MEMBER(ctx, ntx_action_ctx_t, flags)) b.set<uint32_t>(at + 68, ctx->flags);

    const uint32_t handle = li.enter(action);
    Guest::Call c;
    uint32_t base = b.place(*g, c);
    if (base) c = g->call("ntx_run_action", {u32v(handle), u32v(base + at)});
    if (!c.ok()) {
        li.reset(c, base ? "ntx_run_action" : "ntx_alloc");  // fails this action (and the loop's others)
        return NTX_OK;
    }
    uint32_t kept = 0;
    g->load(base + slot, kept);
    *ctx->user_data = UserSlot::encode(li.index, li.generation, kept);
    g->give_back(base);
    ntx_status_t rc = c.results.at(0).Get<int32_t>();
    if (rc == NTX_OK) return NTX_OK;
    if (li.holds(action)) {
        li.forget(action);
        return rc < 0 ? rc : NTX_E_INTERNAL;
    }
    li.log(NTX_LOG_WARN, "wasm plugin '" + run->component + "': ntx_run_action ended its action and then returned an error; "
                         "the first outcome stands");
    return NTX_OK;
}

void on_error(void* state, ntx_action_t* action, void** user_data, ntx_status_t code, ntx_str_t reason) {
    auto* run = static_cast<RunState*>(state);
    LoopInstance* li = run && user_data ? loop_of(*run, *user_data) : nullptr;
    if (!li || !li->holds(action) || !li->guest) {
        if (li) li->forget(action);
        return;
    }
    const uint32_t handle = li->handle_of(action);
    li->forget(action);  // dead for the guest from now on: a later action_complete is refused
    Guest& g = *li->guest;
    const uint32_t user = guest_user(*li, *user_data);
    BlockLease lease(li->block, li->block_busy);
    Block& b = *lease;
    uint32_t slot = b.reserve(4, 4), text = b.reserve(8);
    b.set<uint32_t>(slot, user);
    b.set_str(text, {reason.ptr, reason.len});
    Guest::Call c;
    uint32_t base = b.place(g, c);
    uint32_t reason_ptr = 0, reason_len = 0;
    if (base) {
        g.load(base + text, reason_ptr);
        g.load(base + text + 4, reason_len);
        c = g.call("ntx_on_error", {u32v(handle), u32v(base + slot), u32v(static_cast<uint32_t>(code)), u32v(reason_ptr), u32v(reason_len)});
    }
    if (!c.ok()) {
        li->reset(c, "ntx_on_error");
        return;
    }
    uint32_t kept = 0;
    g.load(base + slot, kept);
    *user_data = UserSlot::encode(li->index, li->generation, kept);
    g.give_back(base);
}

void user_release(void* state, uint64_t user_id, void* user_data) {
    auto* run = static_cast<RunState*>(state);
    LoopInstance* li = run ? loop_of(*run, user_data) : nullptr;
    if (!li || !li->guest || !li->guest->has("ntx_user_release")) return;
    const uint32_t user = guest_user(*li, user_data);
    if (!user) return;  // the guest kept nothing, or its instance was reset since
    Guest::Call c = li->guest->call("ntx_user_release", {wi::Value::Make(user_id), u32v(user)});
    if (!c.ok()) li->reset(c, "ntx_user_release");
}

void release(void* state) {
    std::unique_ptr<RunState> run(static_cast<RunState*>(state));
    if (!run) return;
    for (auto& li : run->loops) {
        li->abandon();
        if (li->guest) li->guest->call("ntx_release", {});
    }
}

}  // namespace
}  // namespace ntx::wasm

namespace ntx::wasm {
namespace {

// Checks and describes `module`, takes a slot for it and fills the plugin table: what both entries
// (a .wasm file, a compiled .so) end with.
ntx_status_t adopt(std::unique_ptr<Module> module, ntx_plugin_api_t* api, std::string& why) {
    auto loaded = std::make_unique<Loaded>();
    loaded->module = std::move(module);
    if (!describe(*loaded, why)) return NTX_E_INVALID;
    size_t slot = kSlots;
    {
        std::lock_guard lock(g_slots_lock);
        for (size_t i = 0; i < kSlots && slot == kSlots; ++i)
            if (!g_slots[i]) slot = i;
        if (slot == kSlots) {
            why = "too many wasm modules loaded in this process (64)";
            return NTX_E_LIMIT;
        }
        g_slots[slot] = loaded.get();
    }
    Loaded& l = *loaded.release();  // never unloaded, like a dlopen'd plugin
    const Declared& d = l.module->declared;
    api->abi_major = d.abi_major;
    api->abi_minor = d.abi_minor;
    api->name = d.name.c_str();
    api->version = d.version.c_str();
    api->capabilities = l.capabilities.data();
    api->capability_count = l.capabilities.size();
    api->init = kInit[slot];
    api->run_action = run_action;
    api->on_error = on_error;
    api->user_release = user_release;
    api->release = release;
    if (NTX_HAS_MEMBER(api, ntx_plugin_api_t, validate_action) && l.module->exports("ntx_validate_action"))
        api->validate_action = kValidate[slot];
    return NTX_OK;
}

}  // namespace

bool check_module(const std::string& path, std::string& error) {
    auto module = Module::load(path, make_resolver(), error);
    if (!module) return false;
    Loaded probe;
    probe.module = std::move(module);
    return describe(probe, error);
}

}  // namespace ntx::wasm

extern "C" __attribute__((visibility("default"))) ntx_status_t ntx_wasm_loader_open(
    const char* path, const ntx_host_api_t* host_api, ntx_plugin_api_t* api, const char** backend, char* error,
    size_t error_len) {
    using namespace ntx::wasm;
    auto fail = [&](ntx_status_t rc, const std::string& why) {
        if (error && error_len) std::snprintf(error, error_len, "'%s': %s", path ? path : "", why.c_str());
        return rc;
    };
    if (!path || !host_api || !api || !NTX_HAS_MEMBER(api, ntx_plugin_api_t, release)) return fail(NTX_E_INVALID, "bad arguments");
    if (host_api->abi_major != NTX_ABI_MAJOR) return fail(NTX_E_ABI, "the host speaks another plugin ABI major");
    if (backend) *backend = "wabt interpreter";
    try {
        std::string why;
        auto module = Module::load(path, make_resolver(), why);
        if (!module) return fail(NTX_E_INVALID, why);
        ntx_status_t rc = adopt(std::move(module), api, why);
        return rc == NTX_OK ? rc : fail(rc, why);
    } catch (const std::exception& e) {
        return fail(NTX_E_INTERNAL, std::string("the wasm loader failed: ") + e.what());
    }
}

// The entry of a plugin compiled by `ntx wasm compile`: its glue (see aot_guest.hpp) served by the
// same adapter. A refusal is written to stderr: the host only sees the status.
extern "C" __attribute__((visibility("default"))) ntx_status_t ntx_wasm_loader_open_aot(
    void* const* slots, size_t slot_count, const char* self, const ntx_host_api_t* host_api, ntx_plugin_api_t* api) {
    using namespace ntx::wasm;
    auto fail = [&](ntx_status_t rc, const std::string& why) {
        std::fprintf(stderr, "ntx: '%s' (wasm2c): %s\n", self ? self : "?", why.c_str());
        return rc;
    };
    // A host of another major, or whose tables are smaller than 1.0's, is not one this adapter speaks to.
    if (!host_api || !api || host_api->abi_major != NTX_ABI_MAJOR || !NTX_HAS_MEMBER(host_api, ntx_host_api_t, strerror) ||
        !NTX_HAS_MEMBER(api, ntx_plugin_api_t, release))
        return NTX_E_ABI;
    if (!slots || slot_count < kAotSlotCount)
        return fail(NTX_E_ABI, "its glue does not match this wasm loader; compile it again with this ntx");
    try {
        auto* aot = new AotTable();  // kept for the life of the process, as the module
        aot->import_handler = static_cast<AotImportFn*>(slots[kAotImportHandler]);
        aot->new_instance = reinterpret_cast<int (*)(void*, void**)>(slots[kAotNewInstance]);
        aot->free_instance = reinterpret_cast<void (*)(void*)>(slots[kAotFreeInstance]);
        aot->memory = reinterpret_cast<void (*)(void*, uint8_t**, uint64_t*)>(slots[kAotMemory]);
        aot->call_export = reinterpret_cast<int (*)(void*, uint32_t, const uint64_t*, uint64_t*)>(slots[kAotCallExport]);
        aot->imports = static_cast<const char* const*>(slots[kAotImports]);
        aot->import_count = *static_cast<const uint32_t*>(slots[kAotImportCount]);
        aot->exports = static_cast<const char* const*>(slots[kAotExports]);
        aot->export_count = *static_cast<const uint32_t*>(slots[kAotExportCount]);
        aot->fuel = reinterpret_cast<uint64_t* (*)(void*)>(slots[kAotFuel]);
        std::string why;
        auto module = Module::from_aot(*aot, make_resolver(), why);
        if (!module) return fail(NTX_E_INVALID, why);
        ntx_status_t rc = adopt(std::move(module), api, why);
        return rc == NTX_OK ? rc : fail(rc, why);
    } catch (const std::exception& e) {
        return fail(NTX_E_INTERNAL, std::string("the wasm loader failed: ") + e.what());
    }
}
