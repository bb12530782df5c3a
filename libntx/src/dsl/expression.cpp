// A small Pratt parser and tree evaluator. Written by hand: the grammar is a dozen rules, and no
// Debian-packaged expression library fits (muParser and exprtk are numeric-only; embedding Lua or JS
// would be a second language for one line of logic).
#include "dsl/expression.hpp"
#include "dsl/path.hpp"

#include <array>
#include <charconv>
#include <utility>
#include <cmath>
#include <fmt/format.h>

namespace ntx::dsl {

enum class Op : uint8_t { or_, and_, eq, ne, lt, le, gt, ge, add, sub, mul, div, mod, not_, neg };
enum class Fn : uint8_t { length, contains, starts_with, ends_with, string, number, exists, default_, random };

struct ExprNode {
    enum class Kind : uint8_t { literal, resource, variable, env, unary, binary, call, workbook } kind = Kind::literal;
    Value value;            // literal
    std::string field;      // resource field, or the variable's field path
    uint32_t slot = 0;      // variable slot, or EnvVar
    Op op = Op::add;
    Fn fn = Fn::length;
    std::vector<std::unique_ptr<ExprNode>> kids;
    std::string source;     // the text of a path, for messages
    bool undefined_env = false;  // an env.<KEY> nothing defines, read through default()/exists()
};

namespace {

std::optional<double> to_number(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    if (s.empty()) return std::nullopt;
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

const char* kind_name(const Value& v) {
    switch (v.kind) {
    case Value::Kind::null: return "null";
    case Value::Kind::boolean: return "a boolean";
    case Value::Kind::number: return "a number";
    case Value::Kind::string: return "a string";
    }
    return "?";
}

// ---- tokens --------------------------------------------------------------------------------------------
struct Token {
    enum class Kind : uint8_t { end, number, string, ident, op, lparen, rparen, comma } kind = Kind::end;
    std::string text;
    double num = 0;
    size_t offset = 0;
};

class Lexer {
public:
    explicit Lexer(std::string_view s) : s_(s) {}

    bool next(Token& t, std::string& error) {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
        t = Token{};
        t.offset = pos_;
        if (pos_ >= s_.size()) return true;
        char c = s_[pos_];
        if ((c >= '0' && c <= '9')) {
            size_t start = pos_;
            while (pos_ < s_.size() && ((s_[pos_] >= '0' && s_[pos_] <= '9') || s_[pos_] == '.')) ++pos_;
            auto [p, ec] = std::from_chars(s_.data() + start, s_.data() + pos_, t.num);
            if (ec != std::errc() || p != s_.data() + pos_) {
                error = fmt::format("bad number '{}'", s_.substr(start, pos_ - start));
                return false;
            }
            t.kind = Token::Kind::number;
            return true;
        }
        if (c == '\'' || c == '"') {
            ++pos_;
            std::string out;
            while (pos_ < s_.size() && s_[pos_] != c) {
                if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
                out += s_[pos_++];
            }
            if (pos_ >= s_.size()) {
                error = "unterminated string";
                return false;
            }
            ++pos_;
            t.kind = Token::Kind::string;
            t.text = std::move(out);
            return true;
        }
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
            size_t start = pos_;
            // Paths: letters, digits, '_', '-', '.' (asset.headers.content-type). A '-' followed by a
            // space or digit after an identifier is subtraction, so write `a - 1` with spaces.
            while (pos_ < s_.size()) {
                char d = s_[pos_];
                bool ok = (d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z') || (d >= '0' && d <= '9') || d == '_' || d == '.';
                if (d == '-' && pos_ + 1 < s_.size()) {
                    char e = s_[pos_ + 1];
                    ok = (e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z');
                }
                if (!ok) break;
                ++pos_;
            }
            t.kind = Token::Kind::ident;
            t.text = std::string(s_.substr(start, pos_ - start));
            return true;
        }
        ++pos_;
        switch (c) {
        case '(': t.kind = Token::Kind::lparen; return true;
        case ')': t.kind = Token::Kind::rparen; return true;
        case ',': t.kind = Token::Kind::comma; return true;
        default: break;
        }
        static const char* two[] = {"==", "!=", "<=", ">=", "&&", "||"};
        for (const char* op : two)
            if (c == op[0] && pos_ < s_.size() && s_[pos_] == op[1]) {
                ++pos_;
                t.kind = Token::Kind::op;
                t.text = op;
                return true;
            }
        if (std::string_view("<>+-*/%!").find(c) != std::string_view::npos) {
            t.kind = Token::Kind::op;
            t.text = std::string(1, c);
            return true;
        }
        error = fmt::format("unexpected character '{}'", c);
        --pos_;
        return false;
    }

private:
    std::string_view s_;
    size_t pos_ = 0;
};

class Parser {
public:
    Parser(std::string_view text, const Template::VariableResolver& resolve) : lex_(text), resolve_(resolve) {}

    std::unique_ptr<ExprNode> parse(std::string& error, size_t& offset) {
        if (!advance()) return fail(error, offset);
        auto node = expr(0);
        if (node && tok_.kind != Token::Kind::end) {
            error_ = fmt::format("unexpected '{}' after the expression", tok_text());
            node.reset();
        }
        if (!node) return fail(error, offset);
        return node;
    }

private:
    std::unique_ptr<ExprNode> fail(std::string& error, size_t& offset) {
        error = error_;
        offset = tok_.offset;
        return nullptr;
    }
    std::string tok_text() const {
        switch (tok_.kind) {
        case Token::Kind::end: return "end";
        case Token::Kind::lparen: return "(";
        case Token::Kind::rparen: return ")";
        case Token::Kind::comma: return ",";
        case Token::Kind::number: return fmt::format("{}", tok_.num);
        default: return tok_.text;
        }
    }
    bool advance() { return lex_.next(tok_, error_); }

    static int binding(const Token& t, Op& op) {
        if (t.kind != Token::Kind::op) return -1;
        const std::string& s = t.text;
        if (s == "||") return op = Op::or_, 1;
        if (s == "&&") return op = Op::and_, 2;
        if (s == "==") return op = Op::eq, 3;
        if (s == "!=") return op = Op::ne, 3;
        if (s == "<") return op = Op::lt, 4;
        if (s == "<=") return op = Op::le, 4;
        if (s == ">") return op = Op::gt, 4;
        if (s == ">=") return op = Op::ge, 4;
        if (s == "+") return op = Op::add, 5;
        if (s == "-") return op = Op::sub, 5;
        if (s == "*") return op = Op::mul, 6;
        if (s == "/") return op = Op::div, 6;
        if (s == "%") return op = Op::mod, 6;
        return -1;
    }

    std::unique_ptr<ExprNode> expr(int min_bp) {
        auto left = prefix();
        if (!left) return nullptr;
        while (true) {
            Op op;
            int bp = binding(tok_, op);
            if (bp < 0 || bp <= min_bp) break;
            if (!advance()) return nullptr;
            auto right = expr(bp);
            if (!right) return nullptr;
            auto n = std::make_unique<ExprNode>();
            n->kind = ExprNode::Kind::binary;
            n->op = op;
            n->kids.push_back(std::move(left));
            n->kids.push_back(std::move(right));
            left = std::move(n);
        }
        return left;
    }

    std::unique_ptr<ExprNode> prefix() {
        const bool guarded = std::exchange(guard_next_path_, false);  // only the argument's first token
        auto n = std::make_unique<ExprNode>();
        switch (tok_.kind) {
        case Token::Kind::number:
            n->value = Value::of(tok_.num);
            return advance() ? std::move(n) : nullptr;
        case Token::Kind::string:
            n->value = Value::of(tok_.text);
            return advance() ? std::move(n) : nullptr;
        case Token::Kind::lparen: {
            if (!advance()) return nullptr;
            auto inner = expr(0);
            if (!inner) return nullptr;
            if (tok_.kind != Token::Kind::rparen) {
                error_ = fmt::format("expected ')', found '{}'", tok_text());
                return nullptr;
            }
            return advance() ? std::move(inner) : nullptr;
        }
        case Token::Kind::op:
            if (tok_.text == "!" || tok_.text == "-") {
                n->kind = ExprNode::Kind::unary;
                n->op = tok_.text == "!" ? Op::not_ : Op::neg;
                if (!advance()) return nullptr;
                auto operand = expr(7);
                if (!operand) return nullptr;
                n->kids.push_back(std::move(operand));
                return n;
            }
            break;
        case Token::Kind::ident: return ident(guarded);
        default: break;
        }
        error_ = tok_.kind == Token::Kind::end ? "the expression ends too early" : fmt::format("unexpected '{}'", tok_text());
        return nullptr;
    }

    std::unique_ptr<ExprNode> ident(bool guarded) {
        std::string name = tok_.text;
        size_t at = tok_.offset;
        if (!advance()) return nullptr;
        auto n = std::make_unique<ExprNode>();
        if (tok_.kind == Token::Kind::lparen) return call(name);
        if (name == "true" || name == "false") {
            n->value = Value::of(name == "true");
            return n;
        }
        if (name == "null") return n;
        n->source = name;
        auto path = resolve_path(name, resolve_, error_);
        if (!path && guarded && name.starts_with("env.") && name.size() > 4 &&
            (tok_.kind == Token::Kind::comma || tok_.kind == Token::Kind::rparen)) {
            // default(env.KEY, x) / exists(env.KEY) with KEY defined nowhere: folded by call().
            error_.clear();
            n->undefined_env = true;
            return n;
        }
        if (!path) {
            tok_.offset = at;
            return nullptr;
        }
        switch (path->kind) {
        case ResolvedPath::Kind::resource: n->kind = ExprNode::Kind::resource; break;
        case ResolvedPath::Kind::variable: n->kind = ExprNode::Kind::variable; break;
        case ResolvedPath::Kind::env: n->kind = ExprNode::Kind::env; break;
        case ResolvedPath::Kind::workbook: n->kind = ExprNode::Kind::workbook; break;
        }
        n->slot = path->slot;
        n->field = std::move(path->field);
        return n;
    }

    // feature("name"): config.yaml's flag (after --feature), a constant known at planning.
    std::unique_ptr<ExprNode> feature_flag() {
        if (!advance()) return nullptr;  // '('
        if (tok_.kind != Token::Kind::string) {
            error_ = "feature() takes a feature's name in quotes, e.g. feature('new-checkout')";
            return nullptr;
        }
        const std::string flag = tok_.text;
        auto on = resolve_("feature:" + flag);
        if (!on) {
            error_ = fmt::format("unknown feature '{}': config.yaml's features: declares the flags feature() reads", flag);
            return nullptr;
        }
        if (!advance()) return nullptr;
        if (tok_.kind != Token::Kind::rparen) {
            error_ = "feature() takes one argument";
            return nullptr;
        }
        auto n = std::make_unique<ExprNode>();
        n->value = Value::of(*on != 0);
        return advance() ? std::move(n) : nullptr;
    }

    std::unique_ptr<ExprNode> call(const std::string& name) {
        if (name == "feature") return feature_flag();
        struct Def {
            const char* name;
            Fn fn;
            size_t args;
        };
        static const Def defs[] = {{"length", Fn::length, 1},       {"contains", Fn::contains, 2},
                                   {"starts_with", Fn::starts_with, 2}, {"ends_with", Fn::ends_with, 2},
                                   {"string", Fn::string, 1},       {"number", Fn::number, 1},
                                   {"exists", Fn::exists, 1},       {"default", Fn::default_, 2},
                                   {"random", Fn::random, 0}};
        const Def* def = nullptr;
        for (const auto& d : defs)
            if (name == d.name) def = &d;
        if (!def) {
            error_ = fmt::format("unknown function '{}' (length, contains, starts_with, ends_with, string, number, "
                                 "exists, default, random, feature)", name);
            return nullptr;
        }
        auto n = std::make_unique<ExprNode>();
        n->kind = ExprNode::Kind::call;
        n->fn = def->fn;
        if (!advance()) return nullptr;  // '('
        while (tok_.kind != Token::Kind::rparen) {
            // The first argument of default()/exists() may name an env.<KEY> nothing defines.
            guard_next_path_ = n->kids.empty() && (def->fn == Fn::default_ || def->fn == Fn::exists);
            auto arg = expr(0);
            guard_next_path_ = false;
            if (!arg) return nullptr;
            n->kids.push_back(std::move(arg));
            if (tok_.kind == Token::Kind::comma) {
                if (!advance()) return nullptr;
            } else if (tok_.kind != Token::Kind::rparen) {
                error_ = fmt::format("expected ',' or ')' in {}(...), found '{}'", name, tok_text());
                return nullptr;
            }
        }
        if (n->kids.size() != def->args) {
            error_ = fmt::format("{}() takes {} argument{}, found {}", name, def->args, def->args == 1 ? "" : "s",
                                 n->kids.size());
            return nullptr;
        }
        if (!n->kids.empty() && n->kids[0]->undefined_env) {  // random() takes none
            // Known at planning: default() is its fallback, exists() is false.
            if (!advance()) return nullptr;
            if (def->fn == Fn::default_) return std::move(n->kids[1]);
            if (def->fn == Fn::exists) {
                auto f = std::make_unique<ExprNode>();
                f->value = Value::of(false);
                return f;
            }
            error_ = fmt::format("'{}' is not defined (-e or the environment); only default() and exists() may read it",
                                 n->kids[0]->source);
            return nullptr;
        }
        if (def->fn == Fn::exists && n->kids[0]->kind != ExprNode::Kind::variable &&
            n->kids[0]->kind != ExprNode::Kind::resource) {
            error_ = "exists() takes a path such as asset.status or resource.ip";
            return nullptr;
        }
        return advance() ? std::move(n) : nullptr;
    }

    Lexer lex_;
    const Template::VariableResolver& resolve_;
    Token tok_;
    std::string error_;
    bool guard_next_path_ = false;  // the next path is the first argument of default()/exists()
};

bool as_number(const Value& v, double& out, std::string& error, const char* what) {
    switch (v.kind) {
    case Value::Kind::number: out = v.num; return true;
    case Value::Kind::boolean: out = v.b ? 1 : 0; return true;
    case Value::Kind::string:
        if (auto n = to_number(v.str)) {
            out = *n;
            return true;
        }
        error = fmt::format("{}: '{}' is not a number", what, v.str);
        return false;
    case Value::Kind::null: break;
    }
    error = fmt::format("{}: null is not a number", what);
    return false;
}

bool eval_node(const ExprNode& n, const RenderContext& ctx, Value& out, std::string& error);

bool lookup(const ExprNode& n, const RenderContext& ctx, Value& out, std::string& error) {
    switch (n.kind) {
    case ExprNode::Kind::resource: {
        auto v = ctx.resource_field(n.field);
        if (!v) {
            error = fmt::format("'{}': the user holds no resource with field '{}'", n.source, n.field);
            return false;
        }
        out = Value::of(std::string(*v));
        return true;
    }
    case ExprNode::Kind::variable: {
        const Fields* fields = ctx.variable(n.slot);
        if (!fields) {
            error = fmt::format("'{}': the variable is not set yet", n.source);
            return false;
        }
        for (const auto& [k, v] : *fields)
            if (k == n.field) {
                out = Value::of(v);
                return true;
            }
        error = fmt::format("'{}': the saved result has no field '{}'", n.source, n.field);
        return false;
    }
    case ExprNode::Kind::workbook: {
        std::string v;
        if (!ctx.workbook_field(n.slot, v)) {
            error = fmt::format("'{}': no workbook entry to read", n.source);
            return false;
        }
        out = Value::of(std::move(v));
        return true;
    }
    default: return eval_node(n, ctx, out, error);
    }
}

int compare(const Value& a, const Value& b, bool& ok, std::string& error) {
    ok = true;
    if (a.kind == Value::Kind::string && b.kind == Value::Kind::string) return a.str.compare(b.str) < 0 ? -1 : a.str == b.str ? 0 : 1;
    double x, y;
    if (!as_number(a, x, error, "comparison") || !as_number(b, y, error, "comparison")) {
        ok = false;
        return 0;
    }
    return x < y ? -1 : x > y ? 1 : 0;
}

bool equal(const Value& a, const Value& b) {
    if (a.kind == Value::Kind::null || b.kind == Value::Kind::null) return a.kind == b.kind;
    if (a.kind == Value::Kind::boolean || b.kind == Value::Kind::boolean) return a.truthy() == b.truthy();
    if (a.kind == Value::Kind::string && b.kind == Value::Kind::string) return a.str == b.str;
    double x, y;
    std::string ignored;
    if (as_number(a, x, ignored, "") && as_number(b, y, ignored, "")) return x == y;
    return a.to_string() == b.to_string();
}

bool eval_node(const ExprNode& n, const RenderContext& ctx, Value& out, std::string& error) {
    switch (n.kind) {
    case ExprNode::Kind::literal: out = n.value; return true;
    case ExprNode::Kind::resource:
    case ExprNode::Kind::variable:
    case ExprNode::Kind::workbook: return lookup(n, ctx, out, error);
    case ExprNode::Kind::env: out = Value::of(ctx.env(static_cast<EnvVar>(n.slot))); return true;
    case ExprNode::Kind::unary: {
        Value v;
        if (!eval_node(*n.kids[0], ctx, v, error)) return false;
        if (n.op == Op::not_) {
            out = Value::of(!v.truthy());
            return true;
        }
        double x;
        if (!as_number(v, x, error, "'-'")) return false;
        out = Value::of(-x);
        return true;
    }
    case ExprNode::Kind::binary: {
        Value a;
        if (!eval_node(*n.kids[0], ctx, a, error)) return false;
        if (n.op == Op::and_ && !a.truthy()) return out = Value::of(false), true;
        if (n.op == Op::or_ && a.truthy()) return out = Value::of(true), true;
        Value b;
        if (!eval_node(*n.kids[1], ctx, b, error)) return false;
        switch (n.op) {
        case Op::and_:
        case Op::or_: out = Value::of(b.truthy()); return true;
        case Op::eq: out = Value::of(equal(a, b)); return true;
        case Op::ne: out = Value::of(!equal(a, b)); return true;
        case Op::lt:
        case Op::le:
        case Op::gt:
        case Op::ge: {
            bool ok;
            int c = compare(a, b, ok, error);
            if (!ok) return false;
            bool r = n.op == Op::lt ? c < 0 : n.op == Op::le ? c <= 0 : n.op == Op::gt ? c > 0 : c >= 0;
            out = Value::of(r);
            return true;
        }
        case Op::add:
            if (a.kind != Value::Kind::number && b.kind != Value::Kind::number) {
                out = Value::of(a.to_string() + b.to_string());
                return true;
            }
            [[fallthrough]];
        default: {
            double x, y;
            if (!as_number(a, x, error, "arithmetic") || !as_number(b, y, error, "arithmetic")) return false;
            switch (n.op) {
            case Op::add: out = Value::of(x + y); return true;
            case Op::sub: out = Value::of(x - y); return true;
            case Op::mul: out = Value::of(x * y); return true;
            case Op::div:
            case Op::mod:
                if (y == 0) {
                    error = "division by zero";
                    return false;
                }
                out = Value::of(n.op == Op::div ? x / y : std::fmod(x, y));
                return true;
            default: break;
            }
            error = "bad operator";
            return false;
        }
        }
    }
    case ExprNode::Kind::call: {
        if (n.fn == Fn::exists) {
            Value ignored;
            std::string why;
            out = Value::of(lookup(*n.kids[0], ctx, ignored, why));
            return true;
        }
        if (n.fn == Fn::random) {  // [0, 1) from the user's generator (reproducible with --seed)
            out = Value::of(ctx.random());
            return true;
        }
        if (n.fn == Fn::default_) {
            std::string why;
            if (lookup(*n.kids[0], ctx, out, why)) return true;
            return eval_node(*n.kids[1], ctx, out, error);
        }
        // The string functions over saved fields and literals read them in place: a check such as
        // contains(body, "ok") runs per request and must not copy the body.
        if (n.fn == Fn::length || n.fn == Fn::contains || n.fn == Fn::starts_with || n.fn == Fn::ends_with) {
            std::string_view s[2];
            bool direct = true;
            for (size_t i = 0; i < n.kids.size() && direct; ++i) {
                const ExprNode& k = *n.kids[i];
                direct = false;
                if (k.kind == ExprNode::Kind::literal && k.value.kind == Value::Kind::string) {
                    s[i] = k.value.str;
                    direct = true;
                } else if (k.kind == ExprNode::Kind::variable) {
                    if (const Fields* fields = ctx.variable(k.slot))
                        for (const auto& [key, v] : *fields)
                            if (key == k.field) {
                                s[i] = v;
                                direct = true;
                                break;
                            }
                }
            }
            if (direct) {
                switch (n.fn) {
                case Fn::length: out = Value::of(static_cast<double>(s[0].size())); return true;
                case Fn::contains: out = Value::of(s[0].find(s[1]) != std::string_view::npos); return true;
                case Fn::starts_with: out = Value::of(s[0].starts_with(s[1])); return true;
                default: out = Value::of(s[0].ends_with(s[1])); return true;
                }
            }
        }
        std::array<Value, 2> args;  // no function takes more (the parser checks the count)
        for (size_t i = 0; i < n.kids.size(); ++i)
            if (!eval_node(*n.kids[i], ctx, args[i], error)) return false;
        switch (n.fn) {
        case Fn::length: out = Value::of(static_cast<double>(args[0].to_string().size())); return true;
        case Fn::contains: out = Value::of(args[0].to_string().find(args[1].to_string()) != std::string::npos); return true;
        case Fn::starts_with: out = Value::of(args[0].to_string().rfind(args[1].to_string(), 0) == 0); return true;
        case Fn::ends_with: {
            std::string s = args[0].to_string(), t = args[1].to_string();
            out = Value::of(s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0);
            return true;
        }
        case Fn::string: out = Value::of(args[0].to_string()); return true;
        case Fn::number: {
            double x;
            if (!as_number(args[0], x, error, "number()")) return false;
            out = Value::of(x);
            return true;
        }
        default: break;
        }
        error = "bad function";
        return false;
    }
    }
    error = fmt::format("cannot evaluate ({})", kind_name(out));
    return false;
}

// exists()/default() guard their first argument: reading it is not a use that must be saved first.
void collect_required(const ExprNode& n, std::vector<uint32_t>& out) {
    if (n.kind == ExprNode::Kind::call && (n.fn == Fn::exists || n.fn == Fn::default_)) {
        for (size_t i = 1; i < n.kids.size(); ++i) collect_required(*n.kids[i], out);
        return;
    }
    if (n.kind == ExprNode::Kind::variable) out.push_back(n.slot);
    for (const auto& k : n.kids) collect_required(*k, out);
}

// The resource fields it reads outside exists()/default().
void collect_resource_fields(const ExprNode& n, std::vector<std::string>& out) {
    if (n.kind == ExprNode::Kind::call && (n.fn == Fn::exists || n.fn == Fn::default_)) {
        for (size_t i = 1; i < n.kids.size(); ++i) collect_resource_fields(*n.kids[i], out);
        return;
    }
    if (n.kind == ExprNode::Kind::resource) out.push_back(n.field);
    for (const auto& k : n.kids) collect_resource_fields(*k, out);
}

}  // namespace

bool Value::truthy() const {
    switch (kind) {
    case Kind::null: return false;
    case Kind::boolean: return b;
    case Kind::number: return num != 0;
    case Kind::string: return !str.empty() && str != "false";
    }
    return false;
}

std::string Value::to_string() const {
    switch (kind) {
    case Kind::null: return "null";
    case Kind::boolean: return b ? "true" : "false";
    case Kind::number:
        if (std::isfinite(num) && num == std::floor(num) && std::fabs(num) < 1e15) return fmt::format("{}", static_cast<int64_t>(num));
        return fmt::format("{}", num);
    case Kind::string: return str;
    }
    return {};
}

Expression::Expression() = default;
Expression::~Expression() = default;
Expression::Expression(Expression&&) noexcept = default;
Expression& Expression::operator=(Expression&&) noexcept = default;
Expression::Expression(const Expression&) = default;
Expression& Expression::operator=(const Expression&) = default;

std::optional<Expression> Expression::compile(std::string_view text, const Template::VariableResolver& resolve,
                                              std::string& error, size_t& error_offset) {
    Parser p(text, resolve);
    auto root = p.parse(error, error_offset);
    if (!root) return std::nullopt;
    Expression e;
    e.root_ = std::shared_ptr<const ExprNode>(std::move(root));
    e.source_ = std::string(text);
    return e;
}

bool Expression::eval(const RenderContext& ctx, Value& out, std::string& error) const {
    if (!root_) {
        error = "empty expression";
        return false;
    }
    if (!eval_node(*root_, ctx, out, error)) {
        error = fmt::format("{{{{{}}}}}: {}", source_, error);
        return false;
    }
    return true;
}

std::vector<uint32_t> Expression::variables() const {
    std::vector<uint32_t> out;
    if (root_) collect_required(*root_, out);
    return out;
}

std::vector<std::string> Expression::resource_fields() const {
    std::vector<std::string> out;
    if (root_) collect_resource_fields(*root_, out);
    return out;
}

}  // namespace ntx::dsl
