// ntx-conformance: checks a protocol plugin (.so) against the ntx plugin C ABI.
//
// It loads the plugin with the host's own loader, checks what it declares, then drives it through a
// recording fake host (recording_host.hpp): init, run_action of every capability (with no parameters,
// and with the author's), the host ending actions first (on_error with NTX_E_TIMEOUT and
// NTX_E_CANCELLED), user_release and release. Every scenario runs in a child process of its own, so a
// crash or a blocked call is a failed check, not the end of the kit. Exit code 0 when every check
// passes (warnings allowed), 1 when one fails, 2 for bad arguments.
#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <ntx/plugins.hpp>
#include <ntx/version.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "recording_host.hpp"

namespace fs = std::filesystem;
using namespace ntx::conformance;

namespace {

struct Options {
    std::string plugin;                       // the path given (or resolved from a name)
    std::vector<std::string> plugin_paths;    // for a bare name
    std::string config = "{}";                // init's config_json
    std::map<std::string, Params> params;     // CALL -> the author's parameters
    std::set<std::string> only, skip;
    uint32_t timeout_ms = 2000;               // the host's deadline for an action
    uint32_t grace_ms = 300;                  // how long the kit watches after the host ended an action
    bool verbose = false;
};

// ---- the child's report, line by line over a pipe ------------------------------------------------------
// P title | F title | S title | D detail | W warning | C capability | ~ stage (for crash reports)
class Out {
public:
    explicit Out(int fd) : fd_(fd) {}
    void line(char tag, const std::string& text) {
        std::string l(1, tag);
        l += ' ';
        for (char c : text) l += (c == '\n' ? ' ' : c);
        l += '\n';
        for (std::size_t off = 0; off < l.size();) {
            ssize_t n = ::write(fd_, l.data() + off, l.size() - off);
            if (n <= 0) return;
            off += static_cast<std::size_t>(n);
        }
    }
    void stage(const std::string& s) { line('~', s); }

private:
    int fd_;
};

std::string status_words(ntx_status_t s) { return std::string(status_name(s)) + " (" + status_text(s) + ")"; }

// ---- one plugin, in one child ----------------------------------------------------------------------------
class Session {
public:
    Session(const Options& opt, Out& out, bool network) : opt_(opt), out_(out), host_(network) {}

    bool load() {
        out_.stage("ntx_plugin_entry");
        std::string error;
        if (ntx::load_plugin(opt_.plugin, host_.api(), &api_, error) != NTX_OK) {
            error_ = error;
            return false;
        }
        return true;
    }
    const std::string& load_error() const { return error_; }
    const ntx_plugin_api_t& api() const { return api_; }
    RecordingHost& host() { return host_; }

    bool init() {
        std::string res_dir = fs::current_path().string();
        ntx_init_ctx_t ctx{};
        ctx.size = sizeof ctx;
        ctx.component = ntx_str_t{api_.name, std::strlen(api_.name)};
        ctx.res_dir = ntx_str_t{res_dir.data(), res_dir.size()};
        ctx.config_json = ntx_str_t{opt_.config.data(), opt_.config.size()};
        ctx.loop_count = 1;
        ctx.host_api = host_.api();
        host_.phase = Phase::init;
        out_.stage("init");
        init_rc_ = api_.init(host_.handle(), &ctx, &state_);
        host_.phase = Phase::running;
        initialized_ = init_rc_ == NTX_OK;
        if (init_rc_ > 0 || !known_status(init_rc_))
            host_.violation("init returned " + std::to_string(init_rc_) + ", not a status code of this ABI");
        return initialized_;
    }
    ntx_status_t init_status() const { return init_rc_; }

    ActionRecord& run(uint64_t user, const std::string& call, Params params, bool null_params) {
        ActionRecord& a = host_.new_action(user, call, std::move(params), null_params);
        ntx_action_ctx_t ctx{};
        ctx.size = sizeof ctx;
        ctx.task_id = a.id;
        ctx.user_id = user;
        ctx.action_id = static_cast<uint32_t>(a.id);
        ctx.action_name = ntx_str_t{a.call.data(), a.call.size()};
        ctx.call = ntx_str_t{a.call.data(), a.call.size()};
        ctx.params = (null_params || a.kv.empty()) ? nullptr : a.kv.data();
        ctx.param_count = null_params ? 0 : a.kv.size();
        ctx.timeout_ms = opt_.timeout_ms;
        ctx.loop = host_.loop();
        ctx.loop_index = 0;
        ctx.user_data = host_.user_slot(user);
        ctx.flags = NTX_ACTION_WANTS_RESULT;
        host_.set_context(user);
        out_.stage("run_action(" + call + ")");
        ntx_status_t rc = NTX_OK;
        host_.timed(("run_action(" + call + ")").c_str(), [&] { rc = api_.run_action(state_, host_.action_handle(a), &ctx); });
        host_.after_run_action(a, rc);
        out_.stage("the loop, after run_action(" + call + ")");
        return a;
    }

    // The host ends a live action first, as a timeout or a stopped user would.
    void host_ends(ActionRecord& a, ntx_status_t code) {
        if (!a.live) return;
        host_.end_by_host(a, code);
        const char* reason = code == NTX_E_TIMEOUT ? "action timeout (ntx-conformance)" : "user stopped (ntx-conformance)";
        host_.set_context(a.user);
        out_.stage(std::string("on_error(") + status_name(code) + ")");
        host_.timed("on_error", [&] {
            api_.on_error(state_, host_.action_handle(a), host_.user_slot(a.user), code, ntx_str_t{reason, std::strlen(reason)});
        });
        host_.mark_on_error_done(a);
        out_.stage("the loop, after on_error");
    }

    // Runs the loop until the action ends by itself, or ends it as the host's deadline would.
    void await(ActionRecord& a) {
        host_.run_until([&] { return !a.live; }, opt_.timeout_ms);
        if (a.live) host_ends(a, NTX_E_TIMEOUT);
    }

    void watch(uint32_t ms) { host_.run_until([] { return false; }, ms); }

    void check_once(const ActionRecord& a) {
        if (a.outcomes > 1)
            host_.violation("action " + std::to_string(a.id) + " (" + a.call + ") ended " + std::to_string(a.outcomes) +
                            " times: every action ends in exactly one outcome");
    }

    // user_release for every user holding state, then release; what was left open is reported.
    void finish() {
        if (!initialized_) return;
        for (const auto& [user, slot] : std::map<uint64_t, void*>(host_.slots())) {
            if (!slot) continue;
            if (!api_.user_release) {
                host_.warning("user " + std::to_string(user) + "'s slot is set but the plugin has no user_release: its state leaks");
                continue;
            }
            host_.set_context(user);
            out_.stage("user_release");
            host_.timed("user_release", [&] { api_.user_release(state_, user, slot); });
            *host_.user_slot(user) = nullptr;
            if (std::size_t n = host_.open_sockets_of(user))
                host_.warning(std::to_string(n) + " socket(s) opened for user " + std::to_string(user) +
                              " still open after its user_release (a leak, unless the plugin pools connections per loop)");
            if (std::size_t n = host_.armed_timers_of(user))
                host_.warning(std::to_string(n) + " timer(s) armed for user " + std::to_string(user) + " after its user_release");
        }
        if (host_.watches())
            host_.warning(std::to_string(host_.watches()) + " fd-watch(es) left when the run closed: unwatch before closing a descriptor");
        host_.close_everything();  // as the real host does once the loops stop
        host_.phase = Phase::releasing;
        out_.stage("release");
        api_.release(state_);
        host_.phase = Phase::released;
        initialized_ = false;
    }

    // The scenario's verdict: PASS with `summary`, or FAIL with every violation.
    void verdict(const std::string& title, const std::string& summary) {
        if (host_.violations.empty()) {
            out_.line('P', title);
            if (!summary.empty()) out_.line('D', summary);
        } else {
            out_.line('F', title);
            for (const auto& v : host_.violations) out_.line('D', v);
        }
        for (const auto& w : host_.warnings) out_.line('W', title + ": " + w);
        if (opt_.verbose) {
            std::string calls;
            for (const auto& c : host_.calls) calls += (calls.empty() ? "" : ", ") + c;
            out_.line('D', "host calls: " + (calls.empty() ? std::string("none") : calls));
            for (const auto& l : host_.logs) out_.line('D', "plugin log: " + l);
        }
    }

private:
    const Options& opt_;
    Out& out_;
    RecordingHost host_;
    ntx_plugin_api_t api_{};
    void* state_ = nullptr;
    bool initialized_ = false;
    ntx_status_t init_rc_ = NTX_OK;
    std::string error_;
};

// ---- scenarios (each runs in its own child) -----------------------------------------------------------------

// Loads and initialises the plugin for a scenario; a failure is that scenario's verdict.
bool start(Session& s, Out& out, const std::string& title) {
    if (!s.load()) {
        out.line('F', title);
        out.line('D', s.load_error());
        return false;
    }
    if (!s.init()) {
        out.line('F', title);
        out.line('D', "init returned " + status_words(s.init_status()) + " (pass the component's config with --config JSON)");
        return false;
    }
    return true;
}

// The loader's verdict and what the plugin declares.
void declare(const Options& opt, Out& out) {
    Session s(opt, out, false);
    if (!s.load()) {
        out.line('F', "load: the host's loader refuses it");
        out.line('D', s.load_error());
        return;
    }
    const ntx_plugin_api_t& api = s.api();
    out.line('P', "load: the host's loader accepts it (entry symbol, ABI " + std::to_string(api.abi_major) + "." +
                      std::to_string(api.abi_minor) + " for host " + std::to_string(NTX_ABI_MAJOR) + "." +
                      std::to_string(NTX_ABI_MINOR) + ", init, run_action, on_error, release)");
    std::string name = api.name;
    if (std::regex_match(name, std::regex("[a-z0-9][a-z0-9_-]*")))
        out.line('P', "declare: name '" + name + "'");
    else {
        out.line('F', "declare: name '" + name + "'");
        out.line('D', "a name is lowercase letters, digits, '_' and '-' (scripts find it as ntx_<name>.so)");
    }
    // A .wasm module is named by its path (`kind: wasm`, `entry: file.wasm`), never found by name.
    if (fs::path(opt.plugin).extension() != ".wasm" && fs::path(opt.plugin).filename() != "ntx_" + name + ".so")
        out.line('W', "declare: the file is " + fs::path(opt.plugin).filename().string() + ", not ntx_" + name +
                          ".so: `entry: " + name + "` will not find it on the search path");
    if (ntx::is_semver(api.version))
        out.line('P', std::string("declare: version '") + api.version + "' is a semantic version");
    else {
        out.line('F', std::string("declare: version '") + api.version + "'");
        out.line('D', "not a semantic version (MAJOR.MINOR.PATCH): scripts' components[].version cannot match it");
    }
    std::vector<std::string> caps;
    std::string problem;
    if (api.capability_count == 0) problem = "no capabilities: no script can call it";
    else if (!api.capabilities) problem = "capability_count is " + std::to_string(api.capability_count) + " but capabilities is NULL";
    for (std::size_t i = 0; problem.empty() && i < api.capability_count; ++i) {
        const char* c = api.capabilities[i];
        if (!c || !*c) problem = "capability " + std::to_string(i) + " is NULL or empty";
        else if (std::find(caps.begin(), caps.end(), c) != caps.end()) problem = std::string("capability '") + c + "' is declared twice";
        else if (std::strpbrk(c, " \t\n.")) problem = std::string("capability '") + c + "' holds a space or a '.'";
        else caps.emplace_back(c);
    }
    if (problem.empty()) {
        std::string list;
        for (const auto& c : caps) list += (list.empty() ? "" : ", ") + c;
        out.line('P', "declare: capabilities " + list);
        for (const auto& c : caps) out.line('C', c);
    } else {
        out.line('F', "declare: capabilities");
        out.line('D', problem);
    }

    // The entry again, as other hosts would call it. The library stays loaded (RTLD_NODELETE).
    void* lib = dlopen(opt.plugin.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    auto entry = lib ? reinterpret_cast<ntx_plugin_entry_fn>(dlsym(lib, NTX_PLUGIN_ENTRY_SYMBOL)) : nullptr;
    if (!entry) return;
    // A table smaller than the plugin's: it must write nothing past `size` (fill what fits, or refuse).
    {
        constexpr std::size_t kSpare = 64;
        const uint32_t small = static_cast<uint32_t>(offsetof(ntx_plugin_api_t, init));
        std::vector<unsigned char> buf(sizeof(ntx_plugin_api_t) + kSpare, 0xA5);
        std::memset(buf.data(), 0, small);
        ntx_plugin_api_t* table = reinterpret_cast<ntx_plugin_api_t*>(buf.data());
        table->size = small;
        out.stage("ntx_plugin_entry with a smaller table");
        ntx_status_t rc = entry(s.host().api(), table);
        bool intact = std::all_of(buf.begin() + small, buf.end(), [](unsigned char b) { return b == 0xA5; });
        if (!intact) {
            out.line('F', "entry: honours the plugin table's size");
            out.line('D', "given a table of " + std::to_string(small) + " bytes (size), it wrote past them: a host with a smaller "
                          "table would be corrupted (write only members for which NTX_HAS_MEMBER holds, or refuse)");
        } else {
            out.line('P', "entry: honours the plugin table's size");
            out.line('D', rc == NTX_OK ? "filled only what fits in a smaller table"
                                       : "refused a smaller table with " + status_words(rc));
        }
    }
    // A host of another ABI major: the meaning of what the plugin calls may have changed.
    {
        static ntx_host_api_t other;  // static: a plugin may keep the pointer the entry got
        other = *s.host().api();
        other.abi_major = NTX_ABI_MAJOR + 1;
        ntx_plugin_api_t table{};
        table.size = sizeof table;
        out.stage("ntx_plugin_entry with a host of another ABI major");
        ntx_status_t rc = entry(&other, &table);
        if (rc < 0)
            out.line('P', "entry: refuses a host of ABI major " + std::to_string(other.abi_major) + " (" + status_name(rc) + ")");
        else
            out.line('W', "entry: accepted a host of ABI major " + std::to_string(other.abi_major) +
                              "; check host_api->abi_major and return NTX_E_ABI");
        ntx_plugin_api_t again{};
        again.size = sizeof again;
        entry(s.host().api(), &again);  // leave the plugin holding the kit's real table
    }
    if (!s.host().violations.empty()) {
        out.line('F', "entry: does no work (calls no host function)");
        for (const auto& v : s.host().violations) out.line('D', v);
    }
}

void init_release(const Options& opt, Out& out) {
    Session s(opt, out, false);
    const std::string title = "init, then release (no actions; config " + opt.config + ")";
    if (!start(s, out, title)) return;
    s.finish();
    s.verdict(title, "");
}

const Params* author_params(const Options& opt, const std::string& call) {
    auto it = opt.params.find(call);
    return it == opt.params.end() ? nullptr : &it->second;
}

// run_action with NULL params (and with the author's keys, values empty): refused with a code or ended
// once, never a crash.
void no_params(const Options& opt, Out& out, const std::string& call) {
    Session s(opt, out, false);
    const std::string title = call + ": no parameters (NULL params), and empty values";
    if (!start(s, out, title)) return;
    std::vector<ActionRecord*> runs;
    ActionRecord& a = s.run(1, call, {}, true);
    runs.push_back(&a);
    s.await(a);
    std::string summary = "NULL params: " + a.how;
    if (const Params* p = author_params(opt, call)) {
        Params empty;
        for (const auto& kv : *p) empty.emplace_back(kv.first, "");
        ActionRecord& b = s.run(2, call, empty, false);
        runs.push_back(&b);
        s.await(b);
        summary += "; empty values: " + b.how;
    }
    s.watch(opt.grace_ms);
    for (const ActionRecord* r : runs) s.check_once(*r);
    s.finish();
    s.verdict(title, summary);
}

// The host ends the action first (code), right after run_action returned; with `again`, the same user
// then runs the call once more, which must end once.
void host_ends_first(const Options& opt, Out& out, const std::string& call, ntx_status_t code, bool again) {
    const Params* p = author_params(opt, call);
    Session s(opt, out, p != nullptr);
    const std::string title = call + ": the host ends it first (on_error " + status_name(code) + ")" +
                              (again ? ", then the same user runs it again" : "") +
                              (p ? "" : " [no network: connections are refused]");
    if (!start(s, out, title)) return;
    ActionRecord& a = s.run(1, call, p ? *p : Params{}, false);
    if (!a.live) {
        s.watch(opt.grace_ms);
        s.check_once(a);
        s.finish();
        if (s.host().violations.empty()) {
            out.line('S', title);
            out.line('D', "it ended inside run_action (" + a.how + "): there was nothing for on_error to stop");
        } else {
            s.verdict(title, "");
        }
        return;
    }
    s.host_ends(a, code);
    s.watch(opt.grace_ms);  // anything still running must not touch the dead action
    s.check_once(a);
    std::string summary = "on_error stopped the work; nothing touched the dead action for " + std::to_string(opt.grace_ms) + " ms";
    if (again) {
        ActionRecord& b = s.run(1, call, p ? *p : Params{}, false);
        s.await(b);
        s.watch(opt.grace_ms);
        s.check_once(b);
        summary += "; the next action " + b.how;
    }
    s.finish();
    s.verdict(title, summary);
}

// The author's parameters, over the network: two actions of one user must both complete.
void with_params(const Options& opt, Out& out, const std::string& call) {
    const Params& p = *author_params(opt, call);
    Session s(opt, out, true);
    std::string shown;
    for (const auto& [k, v] : p) shown += (shown.empty() ? "" : ", ") + k + "=" + v;
    const std::string title = call + ": with your parameters (" + shown + "), twice for one user";
    if (!start(s, out, title)) return;
    std::string summary;
    for (int i = 0; i < 2; ++i) {
        ActionRecord& a = s.run(1, call, p, false);
        s.await(a);
        s.check_once(a);
        if (!a.ok && s.host().violations.empty())
            s.host().violation("action " + std::to_string(i + 1) + " did not complete: " + a.how);
        summary += (summary.empty() ? "" : "; ") + ("action " + std::to_string(i + 1) + " " + a.how);
    }
    s.watch(opt.grace_ms);
    s.finish();
    s.verdict(title, summary);
}

// ABI 1.5: the run's network policy denies every address. The host refuses each socket with
// NTX_E_DENIED (and connect_allowed answers it), before any packet: a plugin that connected must end
// the action once, as NTX_E_DENIED, so the report counts it as `denied`, not as a failure of the peer.
void network_denied(const Options& opt, Out& out, const std::string& call) {
    const Params& p = *author_params(opt, call);
    Session s(opt, out, true);
    s.host().deny_network = true;
    const std::string title = call + ": with your parameters, the network policy denies the address (ABI 1.5)";
    if (!start(s, out, title)) return;
    ActionRecord& a = s.run(1, call, p, false);
    s.await(a);
    s.check_once(a);
    std::string summary = "the action " + a.how;
    if (s.host().denials == 0) {
        summary += "; it opened no connection, so the policy had nothing to deny";
    } else if (a.ok) {
        s.host().violation("the host denied the connection (NTX_E_DENIED) but the action completed ok");
    } else if (a.code != NTX_E_DENIED) {
        s.host().violation("the host denied the connection, but the action ended as " + status_words(a.code) +
                           ", not NTX_E_DENIED: pass the socket's status on (the report counts it as `denied`)");
    }
    s.watch(opt.grace_ms);
    s.finish();
    s.verdict(title, summary);
}

// validate_action (ABI 1.2), when the plugin fills it: called as planning calls it, before init, it is
// pure (no host-table call, the same answer twice, reports only during the call, a status that agrees
// with them); with the author's parameters, which are meant to be good, it reports nothing.
struct Reported {
    bool open = false;  // inside validate_action: a report after it returned is a violation
    std::vector<std::string> problems;
    std::vector<std::string> violations;
};

void report_problem(void* ctx, const ntx_problem_t* p) {
    auto& r = *static_cast<Reported*>(ctx);
    if (!r.open) r.violations.push_back("report called after validate_action returned");
    if (!p || p->size < sizeof(ntx_problem_t)) {
        r.violations.push_back("a problem whose size is smaller than ntx_problem_t");
        return;
    }
    auto text = [](ntx_str_t s) { return s.ptr ? std::string(s.ptr, s.len) : std::string(); };
    r.problems.push_back("#" + std::to_string(p->param_index) + " " + text(p->message) +
                         (p->hint.len ? " (" + text(p->hint) + ")" : ""));
}

void validate_params(const Options& opt, Out& out, const std::string& call) {
    Session s(opt, out, false);
    const Params* p = author_params(opt, call);
    const std::string title =
        call + ": validate_action before init, twice, " + (p ? "your parameters pass it" : "without parameters");
    if (!s.load()) {
        out.line('F', title);
        out.line('D', s.load_error());
        return;
    }
    const ntx_plugin_api_t& api = s.api();
    if (api.abi_minor < 2 || !NTX_HAS_MEMBER(&api, ntx_plugin_api_t, validate_action) || !api.validate_action) {
        out.line('S', call + ": validate_action: the plugin has none (its params are checked only when actions run)");
        return;
    }
    std::vector<ntx_kv_t> kv;
    std::vector<uint32_t> flags;
    if (p) {
        for (const auto& [k, v] : *p) {
            kv.push_back({{k.data(), k.size()}, {v.data(), v.size()}});
            flags.push_back(v.find("{{") != std::string::npos ? NTX_PARAM_TEMPLATED : 0u);
        }
    }
    std::string answers[2];
    Reported r;
    for (std::string& answer : answers) {
        r.problems.clear();
        ntx_validate_ctx_t ctx{};
        ctx.size = sizeof ctx;
        ctx.component = ntx_str_t{api.name, std::strlen(api.name)};
        ctx.action_name = ntx_str_t{call.data(), call.size()};
        ctx.call = ntx_str_t{call.data(), call.size()};
        ctx.params = kv.empty() ? nullptr : kv.data();
        ctx.param_count = kv.size();
        ctx.param_flags = flags.empty() ? nullptr : flags.data();
        ctx.report = &report_problem;
        ctx.report_ctx = &r;
        const std::size_t host_calls = s.host().calls.size();
        out.stage("validate_action(" + call + ")");
        r.open = true;
        const ntx_status_t rc = api.validate_action(&ctx);
        r.open = false;
        if (s.host().calls.size() != host_calls)
            s.host().violation("validate_action called the host table (it must be a pure function of its ctx)");
        if (rc != NTX_OK && rc != NTX_E_INVALID)
            s.host().violation("validate_action returned " + status_words(rc) + ", not NTX_OK or NTX_E_INVALID");
        else if ((rc == NTX_E_INVALID) != !r.problems.empty())
            s.host().violation("validate_action returned " + status_words(rc) + " after reporting " +
                               std::to_string(r.problems.size()) + " problem(s)");
        answer = std::to_string(rc);
        for (const auto& problem : r.problems) answer += "; " + problem;
    }
    for (auto& v : r.violations) s.host().violation(std::move(v));
    if (answers[0] != answers[1])
        s.host().violation("validate_action answered differently the second time: " + answers[0] + " / " + answers[1]);
    if (p && answers[0] != std::to_string(NTX_OK))
        s.host().violation("your parameters would be refused at planning: " + answers[0]);
    s.verdict(title, answers[0] == std::to_string(NTX_OK) ? "nothing reported" : "reported " + answers[0]);
}

// ---- the parent: one child per scenario, bounded in time ----------------------------------------------------

struct Tally {
    int passed = 0, failed = 0, warned = 0, skipped = 0;
};

const char* signal_name(int sig) {
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGKILL: return "SIGKILL";
    default: return "a signal";
    }
}

// Runs `body` in a child; prints what it reports; returns the capabilities it declared (C lines).
std::vector<std::string> run_child(const std::string& title, uint32_t budget_ms, const std::function<void(Out&)>& body,
                                   Tally& tally) {
    std::fflush(stdout);
    std::fflush(stderr);
    int fds[2];
    if (::pipe(fds) != 0) {
        std::perror("ntx-conformance: pipe");
        std::exit(2);
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        std::perror("ntx-conformance: fork");
        std::exit(2);
    }
    if (pid == 0) {
        ::close(fds[0]);
        Out out(fds[1]);
        body(out);
        ::_exit(0);
    }
    ::close(fds[1]);
    std::string data, stage = "loading";
    std::vector<std::string> caps;
    bool reported = false, timed_out = false;
    auto handle = [&](const std::string& l) {
        if (l.size() < 2) return;
        const char tag = l[0];
        const std::string text = l.substr(2);
        switch (tag) {
        case '~': stage = text; break;
        case 'C': caps.push_back(text); break;
        case 'P': ++tally.passed; reported = true; std::printf("PASS  %s\n", text.c_str()); break;
        case 'F': ++tally.failed; reported = true; std::printf("FAIL  %s\n", text.c_str()); break;
        case 'S': ++tally.skipped; reported = true; std::printf("SKIP  %s\n", text.c_str()); break;
        case 'W': ++tally.warned; std::printf("WARN  %s\n", text.c_str()); break;
        case 'D': std::printf("        - %s\n", text.c_str()); break;
        default: break;
        }
    };
    // Bounded: a plugin that blocks the loop is killed and reported.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(budget_ms);
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) {
            timed_out = true;
            ::kill(pid, SIGKILL);
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000))) <= 0) continue;
        char buf[4096];
        ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n <= 0) break;
        data.append(buf, static_cast<std::size_t>(n));
        for (std::size_t nl; (nl = data.find('\n')) != std::string::npos;) {
            handle(data.substr(0, nl));
            data.erase(0, nl + 1);
        }
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (timed_out) {
        ++tally.failed;
        std::printf("FAIL  %s\n        - did not finish within %u ms: blocked in %s (a plugin must never block the loop)\n",
                    title.c_str(), budget_ms, stage.c_str());
    } else if (WIFSIGNALED(status)) {
        ++tally.failed;
        std::printf("FAIL  %s\n        - crashed with %s in %s: errors must come back as status codes\n", title.c_str(),
                    signal_name(WTERMSIG(status)), stage.c_str());
    } else if (!reported || (WIFEXITED(status) && WEXITSTATUS(status) != 0)) {
        // A sanitizer (or abort handler) turns a crash into an exit status, after its report on stderr.
        ++tally.failed;
        std::printf("FAIL  %s\n        - crashed (exit status %d before the scenario's verdict; see stderr) in %s: errors "
                    "must come back as status codes\n",
                    title.c_str(), WIFEXITED(status) ? WEXITSTATUS(status) : -1, stage.c_str());
    }
    std::fflush(stdout);
    return caps;
}

void usage(std::FILE* f) {
    std::fprintf(f,
                 "usage: ntx-conformance PLUGIN [options]\n"
                 "  PLUGIN                  a plugin file (path/ntx_NAME.so) or a bare NAME on the plugin search path\n"
                 "  --with CALL.KEY=VALUE   a parameter for CALL's runs with your parameters (repeatable); a call with\n"
                 "                          parameters also runs over the network (to the address they name)\n"
                 "  --params FILE           CALL.KEY=VALUE lines ('#' comments) as --with\n"
                 "  --config JSON           the component's config handed to init (default {})\n"
                 "  --only CALL, --skip CALL  choose the capabilities exercised (repeatable)\n"
                 "  --timeout MS            the host's deadline for an action (default 2000)\n"
                 "  --plugin-path DIR       searched first for a bare NAME (repeatable)\n"
                 "  --verbose               show every host call the plugin made, and what it logged\n"
                 "exit code: 0 every check passed, 1 a check failed, 2 bad arguments\n");
}

bool add_param(Options& opt, const std::string& spec) {
    auto dot = spec.find('.');
    auto eq = spec.find('=');
    if (dot == std::string::npos || eq == std::string::npos || dot > eq || dot == 0 || eq == dot + 1) return false;
    opt.params[spec.substr(0, dot)].emplace_back(spec.substr(dot + 1, eq - dot - 1), spec.substr(eq + 1));
    return true;
}

std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(" \t\r");
    auto e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    std::vector<std::string> args(argv + 1, argv + argc);
    std::string plugin_arg;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= args.size()) {
                std::fprintf(stderr, "ntx-conformance: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return args[++i];
        };
        if (a == "-h" || a == "--help") {
            usage(stdout);
            return 0;
        } else if (a == "--with") {
            std::string spec = value();
            if (!add_param(opt, spec)) {
                std::fprintf(stderr, "ntx-conformance: --with %s: expected CALL.KEY=VALUE\n", spec.c_str());
                return 2;
            }
        } else if (a == "--params") {
            std::string file = value();
            std::ifstream in(file);
            if (!in) {
                std::fprintf(stderr, "ntx-conformance: cannot read %s\n", file.c_str());
                return 2;
            }
            int n = 0;
            for (std::string line; std::getline(in, line);) {
                ++n;
                line = trim(line);
                if (line.empty() || line[0] == '#') continue;
                auto eq = line.find('=');
                std::string spec = eq == std::string::npos ? line : trim(line.substr(0, eq)) + "=" + trim(line.substr(eq + 1));
                if (!add_param(opt, spec)) {
                    std::fprintf(stderr, "%s:%d: expected CALL.KEY=VALUE\n", file.c_str(), n);
                    return 2;
                }
            }
        } else if (a == "--config") {
            opt.config = value();
        } else if (a == "--only") {
            opt.only.insert(value());
        } else if (a == "--skip") {
            opt.skip.insert(value());
        } else if (a == "--timeout") {
            opt.timeout_ms = static_cast<uint32_t>(std::strtoul(value().c_str(), nullptr, 10));
            if (opt.timeout_ms == 0) {
                std::fprintf(stderr, "ntx-conformance: --timeout must be a positive number of milliseconds\n");
                return 2;
            }
        } else if (a == "--plugin-path" || a == "-P") {
            opt.plugin_paths.push_back(value());
        } else if (a == "--verbose" || a == "-v") {
            opt.verbose = true;
        } else if (!a.empty() && a[0] == '-') {
            std::fprintf(stderr, "ntx-conformance: unknown option %s\n", a.c_str());
            usage(stderr);
            return 2;
        } else if (plugin_arg.empty()) {
            plugin_arg = a;
        } else {
            std::fprintf(stderr, "ntx-conformance: one plugin at a time (got %s and %s)\n", plugin_arg.c_str(), a.c_str());
            return 2;
        }
    }
    if (plugin_arg.empty()) {
        usage(stderr);
        return 2;
    }
    // A bare name is found as a script's `entry: NAME` is, on the same search path.
    const bool is_path = plugin_arg.find('/') != std::string::npos || plugin_arg.ends_with(".so");
    if (is_path) {
        opt.plugin = fs::absolute(plugin_arg).lexically_normal().string();
        if (!fs::is_regular_file(opt.plugin)) {
            std::fprintf(stderr, "ntx-conformance: %s: no such file\n", opt.plugin.c_str());
            return 2;
        }
    } else {
        for (const auto& dir : ntx::plugin_search_path(opt.plugin_paths)) {
            fs::path p = fs::path(dir) / ("ntx_" + plugin_arg + ".so");
            if (fs::is_regular_file(p)) {
                opt.plugin = fs::absolute(p).lexically_normal().string();
                break;
            }
        }
        if (opt.plugin.empty()) {
            std::fprintf(stderr, "ntx-conformance: no plugin named '%s' on the search path (see `ntx plugins list`)\n",
                         plugin_arg.c_str());
            return 2;
        }
    }
    ::signal(SIGPIPE, SIG_IGN);

    std::printf("ntx-conformance %s (plugin ABI %d.%d): %s\n", NTX_VERSION_STRING, NTX_ABI_MAJOR, NTX_ABI_MINOR,
                opt.plugin.c_str());
    Tally tally;
    const uint32_t budget = 4 * opt.timeout_ms + 4 * opt.grace_ms + 5000;
    std::vector<std::string> caps = run_child("load and declare", budget, [&](Out& out) { declare(opt, out); }, tally);
    if (caps.empty() && tally.failed == 0) {
        // Loaded but declared nothing usable: reported above.
    }
    if (tally.failed == 0 || !caps.empty()) {
        run_child("init, then release", budget, [&](Out& out) { init_release(opt, out); }, tally);
        for (const auto& [call, p] : opt.params)
            if (std::find(caps.begin(), caps.end(), call) == caps.end()) {
                std::printf("FAIL  parameters for '%s', which the plugin does not declare\n", call.c_str());
                ++tally.failed;
            }
        for (const auto& call : caps) {
            if ((!opt.only.empty() && !opt.only.count(call)) || opt.skip.count(call)) {
                std::printf("SKIP  %s: not selected (--only/--skip)\n", call.c_str());
                ++tally.skipped;
                continue;
            }
            run_child(call + ": validate_action", budget, [&](Out& out) { validate_params(opt, out, call); }, tally);
            run_child(call + ": no parameters", budget, [&](Out& out) { no_params(opt, out, call); }, tally);
            run_child(call + ": the host ends it first (timeout)", budget,
                      [&](Out& out) { host_ends_first(opt, out, call, NTX_E_TIMEOUT, false); }, tally);
            run_child(call + ": the host ends it first (cancel), then again", budget,
                      [&](Out& out) { host_ends_first(opt, out, call, NTX_E_CANCELLED, true); }, tally);
            if (author_params(opt, call)) {
                run_child(call + ": with your parameters", budget, [&](Out& out) { with_params(opt, out, call); }, tally);
                run_child(call + ": the network policy denies", budget, [&](Out& out) { network_denied(opt, out, call); },
                          tally);
            }
        }
    }
    std::printf("\n%s: %d passed, %d failed, %d warnings, %d skipped\n", tally.failed ? "FAILED" : "CONFORMS", tally.passed,
                tally.failed, tally.warned, tally.skipped);
    return tally.failed ? 1 : 0;
}
