// validate_action's side of the C ABI (1.2): reading the host's ntx_validate_ctx_t, reporting problems
// through its callback, and the did-you-mean hint for an unknown param.
#pragma once

#include "abi_glue.hpp"

#include <ntx/plugin_abi.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace ntx::sdk {

// One action's params as validate_action got them, and the problems found in them.
class ParamCheck {
public:
    explicit ParamCheck(const ntx_validate_ctx_t &ctx) noexcept : ctx_(ctx) {}

    std::string_view call() const noexcept { return view(ctx_.call); }
    std::size_t size() const noexcept { return ctx_.params ? ctx_.param_count : 0; }
    std::string_view key(std::size_t i) const noexcept { return view(ctx_.params[i].key); }
    std::string_view value(std::size_t i) const noexcept { return view(ctx_.params[i].value); }
    // The value is a template's source: only its literal parts are known now.
    bool templated(std::size_t i) const noexcept {
        return ctx_.param_flags && (ctx_.param_flags[i] & NTX_PARAM_TEMPLATED) != 0;
    }
    // The first param named `key`, or size() when there is none.
    std::size_t find(std::string_view key) const noexcept {
        for (std::size_t i = 0; i < size(); ++i) {
            if (this->key(i) == key) return i;
        }
        return size();
    }

    // The prefix of the plugin's run-time error reasons ("http: "): cut from reported messages, as the
    // host names the action and its component instead.
    void strip_prefix(std::string_view prefix) noexcept { prefix_ = prefix; }

    // A problem of param `index` (NTX_PROBLEM_ACTION: of the action as a whole).
    void report(std::int32_t index, std::string_view message, std::string_view hint = {}) noexcept {
        if (!prefix_.empty() && message.starts_with(prefix_)) message.remove_prefix(prefix_.size());
        ++reported_;
        if (!ctx_.report) return;
        ntx_problem_t p{sizeof(ntx_problem_t), index, {message.data(), message.size()}, {hint.data(), hint.size()}};
        ctx_.report(ctx_.report_ctx, &p);
    }
    void report_param(std::size_t index, std::string_view message, std::string_view hint = {}) noexcept {
        report(static_cast<std::int32_t>(index), message, hint);
    }

    std::size_t reported() const noexcept { return reported_; }
    ntx_status_t status() const noexcept { return reported_ ? NTX_E_INVALID : NTX_OK; }

private:
    static std::string_view view(ntx_str_t s) noexcept { return s.ptr ? std::string_view(s.ptr, s.len) : std::string_view{}; }

    const ntx_validate_ctx_t &ctx_;
    std::string_view prefix_;
    std::size_t reported_ = 0;
};

// The text of a templated value before its first `{{`: what is known of it at planning.
inline std::string_view literal_prefix(std::string_view value) noexcept {
    return value.substr(0, value.find("{{"));
}

// Whether some text beginning with `start` can begin with one of `heads` (ASCII case-insensitively):
// for a templated url, whether its literal start leaves room for the schemes the plugin takes.
inline bool may_start_with(std::string_view start, std::initializer_list<std::string_view> heads) noexcept {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    for (std::string_view head : heads) {
        const std::size_t n = std::min(start.size(), head.size());
        if (std::equal(start.begin(), start.begin() + static_cast<std::ptrdiff_t>(n), head.begin(),
                       [&](char a, char b) { return lower(a) == lower(b); })) {
            return true;
        }
    }
    return false;
}

// Whether `url` could be missing its scheme and nothing else ("127.0.0.1:80/cfg", not "htp:/x" nor
// "ftp://x"): no "://", and its authority does not end in a bare ':'. The plugin then checks that its
// own scheme in front makes a URL it parses, before it suggests that.
inline bool lacks_only_a_scheme(std::string_view url) noexcept {
    const std::string_view authority = url.substr(0, url.find_first_of("/?#"));
    return !url.empty() && url.find("://") == std::string_view::npos && !authority.empty() && authority.back() != ':';
}

// The candidate nearest to `word` by edits (insert, delete, replace a character), if it is near
// enough to be a typo of it; else "". For "did you mean ...?" hints.
inline std::string nearest_word(std::string_view word, const std::vector<std::string> &candidates) {
    std::vector<std::size_t> row;
    const auto edits = [&row](std::string_view from, std::string_view to) {
        row.resize(to.size() + 1);
        for (std::size_t j = 0; j < row.size(); ++j) row[j] = j;
        for (std::size_t i = 0; i < from.size(); ++i) {
            std::size_t diagonal = row[0];
            row[0] = i + 1;
            for (std::size_t j = 0; j < to.size(); ++j) {
                const std::size_t above = row[j + 1];
                row[j + 1] = std::min({above + 1, row[j] + 1, diagonal + (from[i] == to[j] ? 0 : 1)});
                diagonal = above;
            }
        }
        return row.back();
    };
    const std::size_t limit = std::max<std::size_t>(1, word.size() / 3);
    std::string best;
    std::size_t best_edits = limit + 1;
    for (const std::string &c : candidates) {
        if (const std::size_t e = edits(word, c); e < best_edits) {
            best_edits = e;
            best = c;
        }
    }
    return best;
}

// The validate_action hook of a plugin whose checks are `Check(ParamCheck&)`: checks the ctx, keeps
// exceptions from crossing the C ABI (NTX_E_NOMEM / NTX_E_INTERNAL), and returns NTX_OK or
// NTX_E_INVALID by whether anything was reported.
template <auto Check>
ntx_status_t validate_hook(const ntx_validate_ctx_t *ctx) noexcept {
    if (!ctx || !NTX_HAS_MEMBER(ctx, ntx_validate_ctx_t, report_ctx) || (ctx->param_count && !ctx->params)) {
        return NTX_E_INVALID;
    }
    ParamCheck check(*ctx);
    const ntx_status_t rc = guarded([&] {
        Check(check);
        return NTX_OK;
    });
    return rc != NTX_OK ? rc : check.status();
}

}  // namespace ntx::sdk
