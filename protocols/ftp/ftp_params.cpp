#include "ftp_params.hpp"

#include <ntx/sdk/validate.hpp>

#include <algorithm>
#include <iterator>

namespace ntx::ftp {
namespace {

std::string_view view(ntx_str_t s) noexcept { return s.ptr ? std::string_view(s.ptr, s.len) : std::string_view{}; }

Error invalid(std::string what) { return Error{NTX_E_INVALID, "ftp: " + std::move(what)}; }

bool parse_bool(std::string_view v, bool &out) noexcept {
    if (v == "true") {
        out = true;
    } else if (v == "false") {
        out = false;
    } else {
        return false;
    }
    return true;
}

bool has_ctl(std::string_view s) noexcept {
    for (char c : s) {
        if (c == '\r' || c == '\n' || c == '\0') return true;
    }
    return false;
}

constexpr const char *kCallNames[] = {"login", "list", "download", "upload", "delete"};

}  // namespace

bool call_for_name(std::string_view name, Call &out) noexcept {
    for (std::size_t i = 0; i < std::size(kCallNames); ++i) {
        if (name == kCallNames[i]) {
            out = static_cast<Call>(i);
            return true;
        }
    }
    return false;
}

const char *call_name(Call call) noexcept { return kCallNames[static_cast<std::size_t>(call)]; }

std::vector<std::string> params_of(Call call) {
    std::vector<std::string> keys{"url", "user", "password", "mode"};
    if (call == Call::list) keys.push_back("names-only");
    if (call == Call::upload) keys.insert(keys.end(), {"body", "file", "create-dirs"});
    return keys;
}

void reset_params(Call call, const Config &config, ActionSpec &out) {
    out.call = call;
    out.user.assign("anonymous");
    out.password.clear();
    out.mode = config.mode;
    out.names_only = false;
    out.create_dirs = false;
    out.body_from_file = false;
    out.body.clear();
    out.file.clear();
    out.file_name.clear();
}

Error parse_param(std::string_view key, std::string_view value, std::string_view res_dir, ActionSpec &out,
                  ParamsSeen &seen) {
    if (key == "url") {
        if (Error e = parse_url(value, out.url)) return e;
        seen.url = true;
    } else if (key == "user") {
        if (value.empty() || has_ctl(value)) return invalid("user must be non-empty, without CR, LF or NUL");
        out.user.assign(value);
        seen.user = true;
    } else if (key == "password") {
        // The value itself never appears in a message.
        if (has_ctl(value)) return invalid("password contains CR, LF or NUL");
        out.password.assign(value);
    } else if (key == "mode") {
        if (!parse_mode(value, out.mode)) return invalid("mode must be \"passive\" or \"active\"");
    } else if (key == "names-only" && out.call == Call::list) {
        if (!parse_bool(value, out.names_only)) return invalid("names-only must be \"true\" or \"false\"");
    } else if (key == "create-dirs" && out.call == Call::upload) {
        if (!parse_bool(value, out.create_dirs)) return invalid("create-dirs must be \"true\" or \"false\"");
    } else if (key == "body" && out.call == Call::upload) {
        out.body.assign(value);
        seen.body = true;
    } else if (key == "file" && out.call == Call::upload) {
        if (value.empty()) return invalid("file must name a local file");
        if (value.front() == '/' || res_dir.empty()) {
            out.file.assign(value);
        } else {
            out.file.assign(res_dir);
            if (out.file.back() != '/') out.file.push_back('/');
            out.file.append(value);
        }
        seen.file = true;
    } else {
        return invalid("'" + std::string(key) + "' is not a param of " + call_name(out.call) +
                       " (it takes url, user, password, mode" +
                       (out.call == Call::list     ? ", names-only"
                        : out.call == Call::upload ? ", body or file, create-dirs"
                                                   : "") +
                       ")");
    }
    return {};
}

Error check_action(const ParamsSeen &seen, bool url_known, ActionSpec &out) {
    const char *name = call_name(out.call);
    if (!seen.url) return invalid(std::string(name) + " needs a url");
    if (!out.password.empty() && !seen.user) return invalid("password given without user");
    if (out.call == Call::upload && seen.body == seen.file) {
        return invalid("upload needs exactly one of body (the bytes) or file (a local path)");
    }
    out.body_from_file = seen.file;
    if (!url_known) return {};
    switch (out.call) {
    case Call::login:
    case Call::list:
        break;
    case Call::download:
        if (out.url.is_directory()) return invalid("download url must name a file, not a directory");
        break;
    case Call::upload:
        if (out.url.is_directory()) return invalid("upload url must name a file, not a directory");
        break;
    case Call::remove:
        if (Error e = file_name(out.url, out.file_name)) return e;
        break;
    }
    return {};
}

Error parse_params(const ntx_action_ctx_t &ctx, const Config &config, std::string_view res_dir, ActionSpec &out) {
    const std::string_view call = view(ctx.call);
    Call which{};
    if (!call_for_name(call, which)) return Error{NTX_E_UNSUPPORTED, "ftp: unknown call '" + std::string(call) + "'"};
    reset_params(which, config, out);
    ParamsSeen seen;
    for (std::size_t i = 0; i < ctx.param_count; ++i) {
        if (Error e = parse_param(view(ctx.params[i].key), view(ctx.params[i].value), res_dir, out, seen)) return e;
    }
    return check_action(seen, true, out);
}

void check_params(sdk::ParamCheck &check) {
    check.strip_prefix("ftp: ");
    Call call{};
    if (!call_for_name(check.call(), call)) {
        check.report(NTX_PROBLEM_ACTION, "ftp: unknown call '" + std::string(check.call()) + "'");
        return;
    }
    const std::vector<std::string> keys = params_of(call);
    ActionSpec spec;
    reset_params(call, Config{}, spec);
    ParamsSeen seen;
    std::size_t url_index = check.size();
    bool url_known = true;
    for (std::size_t i = 0; i < check.size(); ++i) {
        const std::string_view key = check.key(i);
        const std::string_view value = check.value(i);
        const bool takes = std::find(keys.begin(), keys.end(), key) != keys.end();
        if (key == "url") {
            url_index = i;
            seen.url = true;
            url_known = !check.templated(i);
        }
        Error e;
        if (takes && check.templated(i)) {
            // Its value comes at run time; that it is there counts now.
            const std::string_view start = sdk::literal_prefix(value);
            if (key == "url" && !sdk::may_start_with(start, {"ftp://"})) {
                Url url;
                e = parse_url(start, url);  // fails on the scheme, with the run-time reason
            }
            seen.user = seen.user || key == "user";
            seen.body = seen.body || key == "body";
            seen.file = seen.file || key == "file";
            if (key == "password") spec.password.assign(value);
        } else {
            e = parse_param(key, value, {}, spec, seen);
            url_known = url_known && !(e && key == "url");
        }
        if (!e) continue;
        std::string hint;
        if (!takes) {
            hint = sdk::nearest_word(key, keys);
        } else if (key == "mode") {
            hint = sdk::nearest_word(value, {"passive", "active"});
        } else if (Url with_scheme;
                   key == "url" && !check.templated(i) && sdk::lacks_only_a_scheme(value) &&
                   !parse_url("ftp://" + std::string(value), with_scheme)) {
            hint = "ftp://" + std::string(value);  // only the scheme is missing
        }
        check.report_param(i, e.reason, hint.empty() ? hint : "did you mean '" + hint + "'?");
    }
    if (Error e = check_action(seen, false, spec)) {
        check.report(NTX_PROBLEM_ACTION, e.reason);
    } else if (url_known && url_index < check.size()) {
        // What the call needs of its url (a file to download...): a problem of the url.
        if (Error url_problem = check_action(seen, true, spec)) check.report_param(url_index, url_problem.reason);
    }
}

}  // namespace ntx::ftp
