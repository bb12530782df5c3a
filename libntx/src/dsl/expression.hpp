// Expressions of the DSL (`meta.status == 200 && length(asset.body) > 0`), compiled once at planning
// into a small tree and evaluated per use with no parsing. Used by conditions (if, loop while,
// transitions) and inside `{{...}}` templates.
//
// Values are null, booleans, numbers (double) or strings. Saved result fields are strings; a
// comparison or arithmetic between a number and a string converts the string to a number (an error
// when it is not one), so `meta.status == 200` reads naturally. `+` on two strings concatenates.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/template.hpp"

namespace ntx::dsl {

struct Value {
    enum class Kind : uint8_t { null, boolean, number, string } kind = Kind::null;
    bool b = false;
    double num = 0;
    std::string str;

    static Value of(bool v) { Value x; x.kind = Kind::boolean; x.b = v; return x; }
    static Value of(double v) { Value x; x.kind = Kind::number; x.num = v; return x; }
    static Value of(std::string v) { Value x; x.kind = Kind::string; x.str = std::move(v); return x; }
    // Truthiness: false, null, 0, "" and "false" are false.
    bool truthy() const;
    // As text: numbers without a trailing ".0" when integral.
    std::string to_string() const;
};

struct ExprNode;

class Expression {
public:
    // Compiles `text`; on failure returns nullopt with `error` and the offset of the problem.
    static std::optional<Expression> compile(std::string_view text, const Template::VariableResolver& resolve,
                                             std::string& error, size_t& error_offset);

    // Evaluates; false with `error` on a missing value or a type mismatch.
    bool eval(const RenderContext& ctx, Value& out, std::string& error) const;
    // Slots of the variables it reads (for the variable graph).
    std::vector<uint32_t> variables() const;
    // The fields of the user's resource item it reads (resource.<field>), for the planning check that
    // the scenario running it inherits a pool.
    std::vector<std::string> resource_fields() const;
    const std::string& source() const { return source_; }

    Expression();
    ~Expression();
    Expression(Expression&&) noexcept;
    Expression& operator=(Expression&&) noexcept;
    Expression(const Expression&);
    Expression& operator=(const Expression&);

private:
    std::shared_ptr<const ExprNode> root_;  // immutable once compiled: copies share it
    std::string source_;
};

}  // namespace ntx::dsl
