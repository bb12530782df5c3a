// From an action's call and rendered params to what one FTP transfer needs.
#pragma once

#include "config.hpp"
#include <ntx/sdk/error.hpp>
#include "ftp_url.hpp"

#include <ntx/plugin_abi.h>

#include <string>
#include <string_view>
#include <vector>

namespace ntx::sdk {
class ParamCheck;
}

namespace ntx::ftp {

using sdk::Error;

enum class Call { login, list, download, upload, remove };

// The capability names run_action accepts, in the order the plugin advertises them.
inline constexpr const char *kCapabilities[] = {"login", "list", "download", "upload", "delete"};

// Maps a capability name to its call; false if unknown.
bool call_for_name(std::string_view name, Call &out) noexcept;
const char *call_name(Call call) noexcept;

// One action's transfer. Strings are copies: the spec outlives run_action (curl reads them later).
struct ActionSpec {
    Call call = Call::login;
    Url url;
    std::string user = "anonymous";
    std::string password;          // never logged: every text that may hold it goes through mask()
    Mode mode = Mode::passive;
    bool names_only = false;       // list: NLST instead of LIST
    bool create_dirs = false;      // upload: create missing directories
    bool body_from_file = false;   // upload: `file` (else `body`)
    std::string body;              // upload: the bytes to send (inline `body`)
    std::string file;              // upload: the local file, resolved against res_dir
    std::string file_name;         // delete: the decoded name DELE takes
};

// The params of `call`, for a did-you-mean.
std::vector<std::string> params_of(Call call);

// What parse_param saw, for check_action's rules across params.
struct ParamsSeen {
    bool url = false, user = false, body = false, file = false;
};

// `out` back to the defaults of `call` (the config's mode, anonymous user...).
void reset_params(Call call, const Config &config, ActionSpec &out);

// Reads one param into `out` (out.call set by reset_params): the one place each param's rules live,
// for parse_params and validate_action alike. A param out.call does not take is NTX_E_INVALID.
Error parse_param(std::string_view key, std::string_view value, std::string_view res_dir, ActionSpec &out,
                  ParamsSeen &seen);

// The rules across params, after every parse_param: a url, a user with a password, upload's body or
// file; with `url_known`, what the call needs of the url (a file to download, upload or delete).
Error check_action(const ParamsSeen &seen, bool url_known, ActionSpec &out);

// validate_action's checks (ABI 1.2): every param through parse_param (a templated one counts as
// present, and its url checked as far as its literal start goes), then check_action; an unknown key
// or a mode with a did-you-mean.
void check_params(sdk::ParamCheck &check);

// Reads ctx.call and the params into `out` (whose strings keep their capacity). Params are
// url (required), user, password, mode (all calls); names-only (list); body or file, create-dirs
// (upload). A param a call does not take is an error, so a typo never passes silently.
Error parse_params(const ntx_action_ctx_t &ctx, const Config &config, std::string_view res_dir, ActionSpec &out);

}  // namespace ntx::ftp
