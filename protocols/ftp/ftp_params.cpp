#include "ftp_params.hpp"

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

Error parse_params(const ntx_action_ctx_t &ctx, const Config &config, std::string_view res_dir, ActionSpec &out) {
    const std::string_view call = view(ctx.call);
    if (!call_for_name(call, out.call)) return Error{NTX_E_UNSUPPORTED, "ftp: unknown call '" + std::string(call) + "'"};
    const char *name = call_name(out.call);

    out.user.assign("anonymous");
    out.password.clear();
    out.mode = config.mode;
    out.names_only = false;
    out.create_dirs = false;
    out.body_from_file = false;
    out.body.clear();
    out.file.clear();
    out.file_name.clear();

    bool have_url = false, have_body = false, have_file = false, have_user = false;
    for (std::size_t i = 0; i < ctx.param_count; ++i) {
        const std::string_view key = view(ctx.params[i].key);
        const std::string_view value = view(ctx.params[i].value);
        if (key == "url") {
            if (Error e = parse_url(value, out.url)) return e;
            have_url = true;
        } else if (key == "user") {
            if (value.empty() || has_ctl(value)) return invalid("user must be non-empty, without CR, LF or NUL");
            out.user.assign(value);
            have_user = true;
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
            have_body = true;
        } else if (key == "file" && out.call == Call::upload) {
            if (value.empty()) return invalid("file must name a local file");
            if (value.front() == '/' || res_dir.empty()) {
                out.file.assign(value);
            } else {
                out.file.assign(res_dir);
                if (out.file.back() != '/') out.file.push_back('/');
                out.file.append(value);
            }
            have_file = true;
        } else {
            return invalid("'" + std::string(key) + "' is not a param of " + name +
                           " (it takes url, user, password, mode" +
                           (out.call == Call::list     ? ", names-only"
                            : out.call == Call::upload ? ", body or file, create-dirs"
                                                       : "") +
                           ")");
        }
    }
    if (!have_url) return invalid(std::string(name) + " needs a url");
    if (!out.password.empty() && !have_user) return invalid("password given without user");
    switch (out.call) {
    case Call::login:
    case Call::list:
        break;
    case Call::download:
        if (out.url.is_directory()) return invalid("download url must name a file, not a directory");
        break;
    case Call::upload:
        if (out.url.is_directory()) return invalid("upload url must name a file, not a directory");
        if (have_body == have_file) return invalid("upload needs exactly one of body (the bytes) or file (a local path)");
        out.body_from_file = have_file;
        break;
    case Call::remove:
        if (Error e = file_name(out.url, out.file_name)) return e;
        break;
    }
    return {};
}

}  // namespace ntx::ftp
