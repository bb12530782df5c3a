#include "dsl/template.hpp"

#include "dsl/expression.hpp"
#include "dsl/path.hpp"

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
        auto path = resolve_path(expr, resolve, error);
        if (!path) return std::nullopt;
        TemplatePart part;
        part.source = std::string(expr);
        switch (path->kind) {
        case ResolvedPath::Kind::resource: part.kind = TemplatePart::Kind::resource; break;
        case ResolvedPath::Kind::variable: part.kind = TemplatePart::Kind::variable; break;
        case ResolvedPath::Kind::env: part.kind = TemplatePart::Kind::env; break;
        case ResolvedPath::Kind::workbook: part.kind = TemplatePart::Kind::workbook; break;
        }
        part.slot = path->slot;
        part.text = std::move(path->field);
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
