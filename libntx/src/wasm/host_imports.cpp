// The imports a wasm plugin may name: module "ntx" (the host table, see ntx/wasm_guest.h) and a
// minimal "wasi_snapshot_preview1" (what wasi-libc needs to link: the rest answers ENOSYS).
#include "wasm/host_imports.hpp"

#include <sys/random.h>

#include <chrono>
#include <map>

#include "wasm/loop_instance.hpp"

namespace ntx::wasm {

namespace {

using T = wabt::Type;
using Types = std::vector<wi::ValueType>;
constexpr int32_t kWasiEnosys = 52, kWasiBadf = 8, kWasiInval = 28;

struct Import {
    Types params, results;
    ImportFn fn;
};

wabt::Result ok() { return wabt::Result::Ok; }
Binding& binding(Guest& g) { return *static_cast<Binding*>(g.user); }
uint32_t u32(const wi::Values& p, size_t i) { return p[i].Get<uint32_t>(); }
uint64_t u64(const wi::Values& p, size_t i) { return p[i].Get<uint64_t>(); }
void ret(wi::Values& r, int32_t v) { r[0] = wi::Value::Make(static_cast<uint32_t>(v)); }

std::string hex(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%x", v);
    return buf;
}

// Raises a trap: a pointer the guest passed lies outside its memory.
wabt::Result bad_pointer(std::string& trap, const char* import, const char* what, uint32_t ptr) {
    trap = std::string("ntx.") + import + ": " + what + " pointer " + hex(ptr) + " is outside the module's memory";
    return wabt::Result(wabt::Result::Error);
}

// Reads an ntx_str_t (wasm32: ptr, len) at `at`.
bool read_str(Guest& g, uint32_t at, std::string_view& out) {
    uint32_t p = 0, n = 0;
    if (!g.load(at, p) || !g.load(at + 4, n)) return false;
    auto s = g.str(p, n);
    if (!s) return false;
    out = *s;
    return true;
}

// Reads `count` ntx_kv_t at `at` as host views into the guest's memory (valid for the host call).
bool read_kvs(Guest& g, uint32_t at, uint32_t count, std::vector<ntx_kv_t>& out) {
    if (count > (1u << 20)) return false;
    out.resize(count);
    for (uint32_t i = 0; i < count; ++i) {
        std::string_view k, v;
        if (!read_str(g, at + i * 16, k) || !read_str(g, at + i * 16 + 8, v)) return false;
        out[i] = ntx_kv_t{{k.data(), k.size()}, {v.data(), v.size()}};
    }
    return true;
}

// An ntx_result_t (wasm32 layout) as the host's; only the members its `size` holds.
bool read_result(Guest& g, uint32_t at, ntx_result_t& r, std::vector<ntx_kv_t>& fields) {
    r = ntx_result_t{};
    r.size = sizeof r;
    uint32_t size = 0, fp = 0, fc = 0;
    if (!g.load(at, size) || !g.span(at, size)) return false;
    if (size >= 12 && g.load(at + 4, fp) && g.load(at + 8, fc) && fc) {
        if (!read_kvs(g, fp, fc, fields)) return false;
        r.fields = fields.data();
        r.field_count = fields.size();
    }
    if (size >= 32) {
        g.load(at + 16, r.bytes_sent);
        g.load(at + 24, r.bytes_received);
    }
    if (size >= 36) g.load(at + 32, r.status);
    return true;
}

LoopInstance* live_loop(Guest& g) {
    Binding& b = binding(g);
    return b.validating ? nullptr : b.loop;
}

void warn_dead_handle(Guest& g, const char* import, uint32_t handle) {
    Binding& b = binding(g);
    if (!b.api || !b.loop) return;
    b.loop->log(NTX_LOG_WARN, "wasm plugin '" + *b.component + "': ntx." + import + " on action handle " +
                                  std::to_string(handle) +
                                  ", which is not live (ended already: completed twice, or after on_error); ignored");
}

wabt::Result end_action(Guest& g, const wi::Values& p, wi::Values& r, std::string& trap, bool fail) {
    const char* name = fail ? "action_fail" : "action_complete";
    uint32_t handle = u32(p, 0), result_at = u32(p, fail ? 4 : 1);
    ntx_result_t result;
    std::vector<ntx_kv_t> fields;
    if (result_at && !read_result(g, result_at, result, fields)) return bad_pointer(trap, name, "result", result_at);
    std::string_view reason;
    if (fail) {
        auto s = g.str(u32(p, 2), u32(p, 3));
        if (!s) return bad_pointer(trap, name, "reason", u32(p, 2));
        reason = *s;
    }
    LoopInstance* li = live_loop(g);
    ntx_action_t* action = li ? li->take(handle) : nullptr;
    if (!action) {
        warn_dead_handle(g, name, handle);
        ret(r, NTX_E_STATE);
        return ok();
    }
    const ntx_result_t* rp = result_at ? &result : nullptr;
    Binding& b = binding(g);
    ntx_status_t rc = fail ? b.api->action_fail(b.host, action, static_cast<int32_t>(u32(p, 1)) < 0 ? static_cast<int32_t>(u32(p, 1)) : NTX_E_INVALID,
                                                ntx_str_t{reason.data(), reason.size()}, rp)
                           : b.api->action_complete(b.host, action, rp);
    ret(r, rc);
    return ok();
}

const std::map<std::string, Import>& ntx_imports() {
    static const std::map<std::string, Import> table = {
        {"log", {{T::I32, T::I32, T::I32, T::I32}, {}, [](Guest& g, const wi::Values& p, wi::Values&, std::string& trap) {
             auto msg = g.str(u32(p, 2), u32(p, 3));
             if (!msg) return bad_pointer(trap, "log", "message", u32(p, 2));
             Binding& b = binding(g);
             if (b.api && !b.validating) {  // validate_action may not call the host: dropped
                 ntx_action_t* action = b.loop ? b.loop->find(u32(p, 0)) : nullptr;
                 b.api->log(b.host, action, static_cast<int32_t>(u32(p, 1)), ntx_str_t{msg->data(), msg->size()});
             }
             return ok();
         }}},
        {"now_ms", {{}, {T::I64}, [](Guest& g, const wi::Values&, wi::Values& r, std::string&) {
             Binding& b = binding(g);
             uint64_t now = b.api ? b.api->now_ms(b.host)
                                  : static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                              std::chrono::steady_clock::now().time_since_epoch())
                                                              .count());
             r[0] = wi::Value::Make(now);
             return ok();
         }}},
        {"action_complete", {{T::I32, T::I32}, {T::I32}, [](Guest& g, const wi::Values& p, wi::Values& r, std::string& trap) {
             return end_action(g, p, r, trap, false);
         }}},
        {"action_fail", {{T::I32, T::I32, T::I32, T::I32, T::I32}, {T::I32},
                         [](Guest& g, const wi::Values& p, wi::Values& r, std::string& trap) { return end_action(g, p, r, trap, true); }}},
        {"progress", {{T::I32, T::I32}, {T::I32}, [](Guest& g, const wi::Values& p, wi::Values& r, std::string& trap) {
             uint32_t at = u32(p, 1), size = 0, fp = 0, fc = 0;
             ntx_progress_t prog{};
             prog.size = sizeof prog;
             std::vector<ntx_kv_t> fields;
             if (!g.load(at, size) || size < 24 || !g.load(at + 4, prog.scope) || !g.load(at + 8, prog.progress) ||
                 !g.load(at + 16, fp) || !g.load(at + 20, fc) || (fc && !read_kvs(g, fp, fc, fields)))
                 return bad_pointer(trap, "progress", "progress", at);
             prog.fields = fields.data();
             prog.field_count = fields.size();
             LoopInstance* li = live_loop(g);
             Binding& b = binding(g);
             ret(r, li ? b.api->progress(b.host, li->find(u32(p, 0)), &prog) : NTX_E_STATE);
             return ok();
         }}},
        {"request_task", {{T::I32, T::I32, T::I32}, {T::I32}, [](Guest& g, const wi::Values& p, wi::Values& r, std::string& trap) {
             uint32_t at = u32(p, 1), size = 0, pp = 0, pc = 0;
             ntx_task_request_t req{};
             req.size = sizeof req;
             std::string_view tmpl, call;
             std::vector<ntx_kv_t> params;
             if (!g.load(at, size) || size < 20 || !read_str(g, at + 4, tmpl) || !g.load(at + 12, pp) ||
                 !g.load(at + 16, pc) || (pc && !read_kvs(g, pp, pc, params)) || (size >= 28 && !read_str(g, at + 20, call)))
                 return bad_pointer(trap, "request_task", "request", at);
             req.template_action = {tmpl.data(), tmpl.size()};
             req.params = params.data();
             req.param_count = params.size();
             req.call = {call.data(), call.size()};
             LoopInstance* li = live_loop(g);
             ntx_action_t* action = li ? li->find(u32(p, 0)) : nullptr;
             if (!action) {
                 ret(r, NTX_E_STATE);
                 return ok();
             }
             Binding& b = binding(g);
             uint64_t task = 0;
             ntx_status_t rc = b.api->request_task(b.host, action, &req, &task);
             if (u32(p, 2) && !g.store(u32(p, 2), task)) return bad_pointer(trap, "request_task", "task_id", u32(p, 2));
             ret(r, rc);
             return ok();
         }}},
        {"timer_schedule", {{T::I32, T::I64, T::I32, T::I32, T::I32}, {T::I32},
                            [](Guest& g, const wi::Values& p, wi::Values& r, std::string& trap) {
             LoopInstance* li = live_loop(g);
             ntx_timer_t id = 0;
             ntx_status_t rc = li ? li->timer_schedule(u64(p, 1), u32(p, 2), u32(p, 3), id) : NTX_E_STATE;
             if (u32(p, 4) && !g.store(u32(p, 4), id)) {
                 if (li && id) li->timer_cancel(id);
                 return bad_pointer(trap, "timer_schedule", "timer", u32(p, 4));
             }
             ret(r, rc);
             return ok();
         }}},
        {"timer_cancel", {{T::I32, T::I64}, {T::I32}, [](Guest& g, const wi::Values& p, wi::Values& r, std::string&) {
             LoopInstance* li = live_loop(g);
             ret(r, li ? li->timer_cancel(u64(p, 1)) : NTX_E_STATE);
             return ok();
         }}},
        {"socket_open", {{T::I32, T::I32, T::I32}, {T::I32}, [](Guest& g, const wi::Values& p, wi::Values& r, std::string& trap) {
             uint32_t at = u32(p, 1), size = 0, cb = 0, userdata = 0;
             ntx_socket_opts_t opts{};
             opts.size = sizeof opts;
             std::string_view host, sni, ca;
             if (!g.load(at, size) || size < 32 || !g.load(at + 4, opts.transport) || !read_str(g, at + 8, host) ||
                 !g.load(at + 16, opts.port) || !g.load(at + 20, opts.connect_timeout_ms) || !g.load(at + 24, cb) ||
                 !g.load(at + 28, userdata) ||
                 (size >= 52 && (!read_str(g, at + 32, sni) || !g.load(at + 40, opts.tls_flags) || !read_str(g, at + 44, ca))))
                 return bad_pointer(trap, "socket_open", "opts", at);
             opts.host = {host.data(), host.size()};
             opts.tls_server_name = {sni.data(), sni.size()};
             opts.tls_ca_file = {ca.data(), ca.size()};
             LoopInstance* li = live_loop(g);
             ntx_socket_t id = 0;
             ntx_status_t rc = li ? li->socket_open(opts, cb, userdata, id) : NTX_E_STATE;
             if (u32(p, 2) && !g.store(u32(p, 2), id)) {
                 if (li && id) li->socket_close(id);
                 return bad_pointer(trap, "socket_open", "socket", u32(p, 2));
             }
             ret(r, rc);
             return ok();
         }}},
        {"socket_send", {{T::I64, T::I32, T::I32}, {T::I32}, [](Guest& g, const wi::Values& p, wi::Values& r, std::string& trap) {
             auto data = g.str(u32(p, 1), u32(p, 2));
             if (!data) return bad_pointer(trap, "socket_send", "data", u32(p, 1));
             LoopInstance* li = live_loop(g);
             if (!li || !li->owns_socket(u64(p, 0))) {
                 ret(r, NTX_E_STATE);
                 return ok();
             }
             Binding& b = binding(g);
             ret(r, b.api->socket_send(b.host, u64(p, 0),
                                       ntx_bytes_t{reinterpret_cast<const uint8_t*>(data->data()), data->size()}));
             return ok();
         }}},
        {"socket_close", {{T::I64}, {T::I32}, [](Guest& g, const wi::Values& p, wi::Values& r, std::string&) {
             LoopInstance* li = live_loop(g);
             ret(r, li ? li->socket_close(u64(p, 0)) : NTX_E_STATE);
             return ok();
         }}},
        {"socket_set_rate", {{T::I64, T::I32}, {T::I32}, [](Guest& g, const wi::Values& p, wi::Values& r, std::string& trap) {
             uint32_t at = u32(p, 1);
             ntx_rate_t rate{};
             rate.size = sizeof rate;
             if (!g.load(at + 8, rate.send_bytes) || !g.load(at + 16, rate.recv_bytes) || !g.load(at + 24, rate.per_ms))
                 return bad_pointer(trap, "socket_set_rate", "rate", at);
             LoopInstance* li = live_loop(g);
             Binding& b = binding(g);
             ret(r, li && li->owns_socket(u64(p, 0)) ? b.api->socket_set_rate(b.host, u64(p, 0), &rate) : NTX_E_STATE);
             return ok();
         }}},
        {"report_problem", {{T::I32, T::I32}, {}, [](Guest& g, const wi::Values& p, wi::Values&, std::string& trap) {
             Binding& b = binding(g);
             uint32_t at = u32(p, 1);
             ntx_problem_t problem{};
             problem.size = sizeof problem;
             std::string_view message, hint;
             if (!g.load(at + 4, problem.param_index) || !read_str(g, at + 8, message) || !read_str(g, at + 16, hint))
                 return bad_pointer(trap, "report_problem", "problem", at);
             if (!b.validating) return ok();  // only during validate_action
             problem.message = {message.data(), message.size()};
             problem.hint = {hint.data(), hint.size()};
             b.validating->report(b.validating->report_ctx, &problem);
             return ok();
         }}},
    };
    return table;
}

wabt::Result wasi_zeroes(Guest& g, const wi::Values& p, wi::Values& r, std::string& trap) {
    if (!g.store(u32(p, 0), uint32_t{0}) || !g.store(u32(p, 1), uint32_t{0}))
        return bad_pointer(trap, "wasi", "sizes", u32(p, 0));
    ret(r, 0);
    return ok();
}

const std::map<std::string, Import>& wasi_imports() {
    static const std::map<std::string, Import> table = {
        {"fd_write", {{T::I32, T::I32, T::I32, T::I32}, {T::I32}, [](Guest& g, const wi::Values& p, wi::Values& r, std::string& trap) {
             uint32_t fd = u32(p, 0), iovs = u32(p, 1), n = u32(p, 2);
             if (fd != 1 && fd != 2) {
                 ret(r, kWasiBadf);
                 return ok();
             }
             std::string text;
             for (uint32_t i = 0; i < n && i < 1024; ++i) {
                 uint32_t ptr = 0, len = 0;
                 if (!g.load(iovs + i * 8, ptr) || !g.load(iovs + i * 8 + 4, len)) return bad_pointer(trap, "fd_write", "iovec", iovs);
                 auto s = g.str(ptr, len);
                 if (!s) return bad_pointer(trap, "fd_write", "buffer", ptr);
                 text += *s;
             }
             if (!g.store(u32(p, 3), static_cast<uint32_t>(text.size()))) return bad_pointer(trap, "fd_write", "nwritten", u32(p, 3));
             Binding& b = binding(g);
             while (!text.empty() && text.back() == '\n') text.pop_back();
             if (b.api && !b.validating && !text.empty())
                 b.api->log(b.host, nullptr, fd == 1 ? NTX_LOG_INFO : NTX_LOG_WARN, ntx_str_t{text.data(), text.size()});
             ret(r, 0);
             return ok();
         }}},
        {"clock_time_get", {{T::I32, T::I64, T::I32}, {T::I32}, [](Guest& g, const wi::Values& p, wi::Values& r, std::string& trap) {
             uint32_t id = u32(p, 0);
             uint64_t ns;
             if (id == 0)
                 ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                std::chrono::system_clock::now().time_since_epoch()).count());
             else if (id == 1)
                 ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                std::chrono::steady_clock::now().time_since_epoch()).count());
             else {
                 ret(r, kWasiInval);
                 return ok();
             }
             if (!g.store(u32(p, 2), ns)) return bad_pointer(trap, "clock_time_get", "time", u32(p, 2));
             ret(r, 0);
             return ok();
         }}},
        {"random_get", {{T::I32, T::I32}, {T::I32}, [](Guest& g, const wi::Values& p, wi::Values& r, std::string& trap) {
             uint8_t* buf = g.span(u32(p, 0), u32(p, 1));
             if (!buf) return bad_pointer(trap, "random_get", "buffer", u32(p, 0));
             for (size_t done = 0; done < u32(p, 1);) {
                 ssize_t got = getrandom(buf + done, u32(p, 1) - done, 0);
                 if (got <= 0) {
                     ret(r, kWasiEnosys);
                     return ok();
                 }
                 done += static_cast<size_t>(got);
             }
             ret(r, 0);
             return ok();
         }}},
        {"args_sizes_get", {{T::I32, T::I32}, {T::I32}, wasi_zeroes}},
        {"environ_sizes_get", {{T::I32, T::I32}, {T::I32}, wasi_zeroes}},
        {"args_get", {{T::I32, T::I32}, {T::I32}, [](Guest&, const wi::Values&, wi::Values& r, std::string&) {
             ret(r, 0);
             return ok();
         }}},
        {"environ_get", {{T::I32, T::I32}, {T::I32}, [](Guest&, const wi::Values&, wi::Values& r, std::string&) {
             ret(r, 0);
             return ok();
         }}},
        {"proc_exit", {{T::I32}, {}, [](Guest&, const wi::Values& p, wi::Values&, std::string& trap) {
             trap = "proc_exit(" + std::to_string(static_cast<int32_t>(u32(p, 0))) + ")";
             return wabt::Result(wabt::Result::Error);
         }}},
    };
    return table;
}

}  // namespace

const char* const kWasiModule = "wasi_snapshot_preview1";

ImportResolver make_resolver() {
    ImportResolver r;
    r.find = [](const std::string& module, const std::string& name, const wi::FuncType& type, std::string& mismatch) -> ImportFn {
        const std::map<std::string, Import>* table = module == "ntx" ? &ntx_imports() : module == kWasiModule ? &wasi_imports() : nullptr;
        if (!table) return {};
        auto it = table->find(name);
        if (it == table->end()) {
            // The rest of preview1 answers ENOSYS: every one of its functions returns an errno (i32).
            if (module == kWasiModule && type.results == Types{T::I32})
                return [](Guest&, const wi::Values&, wi::Values& res, std::string&) {
                    ret(res, kWasiEnosys);
                    return ok();
                };
            return {};
        }
        if (type.params != it->second.params || type.results != it->second.results) {
            mismatch = signature(wi::FuncType(it->second.params, it->second.results));
            return {};
        }
        return it->second.fn;
    };
    return r;
}

}  // namespace ntx::wasm
