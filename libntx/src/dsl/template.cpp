#include "dsl/template.hpp"

#include "dsl/expression.hpp"

#include <fmt/format.h>

namespace ntx::dsl {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

bool is_path(std::string_view s) {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '-' || c == '.';
        if (!ok) return false;
    }
    return s.find("..") == std::string_view::npos;
}

std::optional<EnvVar> env_var(std::string_view name) {
    if (name == "user_id") return EnvVar::user_id;
    if (name == "task_id") return EnvVar::task_id;
    if (name == "tick") return EnvVar::tick;
    if (name == "scenario") return EnvVar::scenario;
    if (name == "phase") return EnvVar::phase;
    return std::nullopt;
}

}  // namespace

std::optional<Template> Template::compile(std::string_view text, const VariableResolver& resolve,
                                          std::string& error, size_t& error_offset) {
    Template t;
    size_t pos = 0;
    auto add_literal = [&](std::string_view lit) {
        if (lit.empty()) return;
        if (!t.parts_.empty() && t.parts_.back().kind == TemplatePart::Kind::literal)
            t.parts_.back().text += lit;
        else
            t.parts_.push_back({TemplatePart::Kind::literal, std::string(lit), 0, {}, nullptr});
    };
    while (pos < text.size()) {
        size_t open = text.find("{{", pos);
        if (open == std::string_view::npos) {
            add_literal(text.substr(pos));
            break;
        }
        add_literal(text.substr(pos, open - pos));
        size_t close = text.find("}}", open + 2);
        if (close == std::string_view::npos) {
            error = "unterminated '{{' in template";
            error_offset = open;
            return std::nullopt;
        }
        std::string_view inner = text.substr(open + 2, close - open - 2);
        std::string_view expr = trim(inner);
        error_offset = open;
        if (!is_path(expr) || expr == "true" || expr == "false" || expr == "null") {
            // More than a path: an expression, compiled once here.
            size_t at = 0;
            auto e = Expression::compile(expr, resolve, error, at);
            if (!e) {
                error_offset = open + 2 + static_cast<size_t>(expr.data() - inner.data()) + at;
                return std::nullopt;
            }
            TemplatePart part;
            part.kind = TemplatePart::Kind::expression;
            part.source = std::string(expr);
            part.expr = std::make_shared<const Expression>(std::move(*e));
            t.parts_.push_back(std::move(part));
            pos = close + 2;
            continue;
        }
        size_t dot = expr.find('.');
        std::string_view root = expr.substr(0, dot);
        std::string_view rest = dot == std::string_view::npos ? std::string_view{} : expr.substr(dot + 1);
        TemplatePart part;
        part.source = std::string(expr);
        if (root == "resource" && rest.find('.') != std::string_view::npos) {
            // resource.<store>.<key>: a kv_store's value, a constant resolved here.
            auto slot = resolve(std::string(expr));
            if (!slot) {
                error = fmt::format("'{}': no kv_store resource '{}' with key '{}'", expr, rest.substr(0, rest.find('.')),
                                    rest.substr(rest.find('.') + 1));
                return std::nullopt;
            }
            part.kind = TemplatePart::Kind::variable;
            part.slot = *slot;
            part.text = "body";
        } else if (root == "resource") {
            if (rest.empty()) {
                error = fmt::format("'{}': expected resource.<field>, e.g. resource.ip", expr);
                return std::nullopt;
            }
            part.kind = TemplatePart::Kind::resource;
            part.text = std::string(rest);
        } else if (root == "env") {
            auto var = env_var(rest);
            if (!var) {
                error = fmt::format("'{}': unknown env variable (user_id, task_id, tick, scenario, phase)", expr);
                return std::nullopt;
            }
            part.kind = TemplatePart::Kind::env;
            part.slot = static_cast<uint32_t>(*var);
        } else if (root == "blob") {
            // blob.<name>[.field]: a file_blob's body (or sha256 / size), a constant variable.
            size_t dot2 = rest.find('.');
            std::string_view name = rest.substr(0, dot2);
            auto slot = resolve(std::string("blob.") + std::string(name));
            if (name.empty() || !slot) {
                error = fmt::format("'{}': no file_blob resource named '{}'", expr, name);
                return std::nullopt;
            }
            part.kind = TemplatePart::Kind::variable;
            part.slot = *slot;
            part.text = dot2 == std::string_view::npos ? std::string("body") : std::string(rest.substr(dot2 + 1));
        } else if (root == "workbook") {
            auto id = rest.empty() ? std::nullopt : resolve("workbook." + std::string(rest));
            if (!id) {
                error = fmt::format("'{}': the workbook has no field or alias '{}' (declare it under workbook:)", expr, rest);
                return std::nullopt;
            }
            part.kind = TemplatePart::Kind::workbook;
            part.slot = *id;
        } else if (root == "global") {
            // global.<name>[.field]: a variable saved with scope global (the latest value any user saved).
            size_t dot2 = rest.find('.');
            std::string_view name = rest.substr(0, dot2);
            auto slot = name.empty() ? std::nullopt : resolve(std::string("global.") + std::string(name));
            if (!slot) {
                error = fmt::format("'{}': no action saves a global variable named '{}' (save-as with scope: global)", expr, name);
                return std::nullopt;
            }
            part.kind = TemplatePart::Kind::variable;
            part.slot = *slot;
            part.text = dot2 == std::string_view::npos ? std::string("body") : std::string(rest.substr(dot2 + 1));
        } else {
            auto slot = resolve(root);
            if (!slot) {
                error = fmt::format("'{}': no action saves a variable named '{}' (save-as)", expr, root);
                return std::nullopt;
            }
            part.kind = TemplatePart::Kind::variable;
            part.slot = *slot;
            part.text = rest.empty() ? std::string("body") : std::string(rest);
        }
        t.parts_.push_back(std::move(part));
        pos = close + 2;
    }
    return t;
}

std::vector<uint32_t> Template::variables() const {
    std::vector<uint32_t> out;
    for (const auto& p : parts_) {
        if (p.kind == TemplatePart::Kind::variable) out.push_back(p.slot);
        if (p.kind == TemplatePart::Kind::expression)
            for (uint32_t slot : p.expr->variables()) out.push_back(slot);
    }
    return out;
}

std::vector<std::string> Template::resource_fields() const {
    std::vector<std::string> out;
    for (const auto& p : parts_) {
        if (p.kind == TemplatePart::Kind::resource) out.push_back(p.text);
        if (p.kind == TemplatePart::Kind::expression)
            for (auto& f : p.expr->resource_fields()) out.push_back(std::move(f));
    }
    return out;
}

bool Template::render(const RenderContext& ctx, std::string& out, std::string& error) const {
    for (const auto& p : parts_) {
        switch (p.kind) {
        case TemplatePart::Kind::literal:
            out += p.text;
            break;
        case TemplatePart::Kind::resource: {
            auto v = ctx.resource_field(p.text);
            if (!v) {
                error = fmt::format("template {{{{{}}}}}: the user holds no resource with field '{}'", p.source, p.text);
                return false;
            }
            out += *v;
            break;
        }
        case TemplatePart::Kind::variable: {
            const Fields* fields = ctx.variable(p.slot);
            if (!fields) {
                error = fmt::format("template {{{{{}}}}}: the variable is not set yet", p.source);
                return false;
            }
            bool found = false;
            for (const auto& [k, v] : *fields) {
                if (k == p.text) {
                    out += v;
                    found = true;
                    break;
                }
            }
            if (!found) {
                error = fmt::format("template {{{{{}}}}}: the saved result has no field '{}'", p.source, p.text);
                return false;
            }
            break;
        }
        case TemplatePart::Kind::env:
            out += ctx.env(static_cast<EnvVar>(p.slot));
            break;
        case TemplatePart::Kind::workbook:
            if (!ctx.workbook_field(p.slot, out)) {
                error = fmt::format("template {{{{{}}}}}: no workbook entry to read", p.source);
                return false;
            }
            break;
        case TemplatePart::Kind::expression: {
            Value v;
            if (!p.expr->eval(ctx, v, error)) return false;
            out += v.to_string();
            break;
        }
        }
    }
    return true;
}

}  // namespace ntx::dsl
