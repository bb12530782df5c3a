// Expressions: compiled once, evaluated against a user's values; errors are values, never crashes.
#include <catch2/catch.hpp>

#include "dsl/expression.hpp"

using namespace ntx::dsl;

namespace {

struct Ctx : RenderContext {
    Fields meta{{"status", "200"}, {"body", "hello world"}, {"time.total_ms", "12.5"}};
    bool meta_set = true;
    std::optional<std::string_view> resource_field(std::string_view f) const override {
        if (f == "port") return std::string_view("20001");
        return std::nullopt;
    }
    const Fields* variable(uint32_t slot) const override { return slot == 0 && meta_set ? &meta : nullptr; }
    std::string env(EnvVar v) const override { return v == EnvVar::user_id ? "7" : "x"; }
};

std::optional<uint32_t> resolve(std::string_view name) {
    if (name == "meta") return 0u;
    return std::nullopt;
}

Value eval(const std::string& text, Ctx ctx = {}) {
    std::string err;
    size_t off = 0;
    auto e = Expression::compile(text, resolve, err, off);
    INFO(text << ": " << err);
    REQUIRE(e);
    Value v;
    INFO(err);
    REQUIRE(e->eval(ctx, v, err));
    return v;
}

std::string eval_error(const std::string& text, Ctx ctx = {}) {
    std::string err;
    size_t off = 0;
    auto e = Expression::compile(text, resolve, err, off);
    REQUIRE(e);
    Value v;
    CHECK_FALSE(e->eval(ctx, v, err));
    return err;
}

std::pair<std::string, size_t> compile_error(const std::string& text) {
    std::string err;
    size_t off = 0;
    CHECK_FALSE(Expression::compile(text, resolve, err, off));
    return {err, off};
}

}  // namespace

TEST_CASE("comparisons read saved strings as numbers when compared with numbers", "[expression]") {
    CHECK(eval("meta.status == 200").truthy());
    CHECK_FALSE(eval("meta.status != 200").truthy());
    CHECK(eval("meta.status >= 200 && meta.status < 300").truthy());
    CHECK(eval("meta.time.total_ms < 13").truthy());
    CHECK(eval("meta.body == 'hello world'").truthy());
    CHECK(eval("'abc' < 'abd'").truthy());
    CHECK(eval("resource.port == 20001").truthy());
    CHECK(eval("env.user_id == 7").truthy());
}

TEST_CASE("arithmetic, precedence, unary operators and concatenation", "[expression]") {
    CHECK(eval("1 + 2 * 3").to_string() == "7");
    CHECK(eval("(1 + 2) * 3").to_string() == "9");
    CHECK(eval("10 / 4").to_string() == "2.5");
    CHECK(eval("10 % 4").to_string() == "2");
    CHECK(eval("-meta.status + 1").to_string() == "-199");
    CHECK(eval("meta.status + 1").to_string() == "201");
    CHECK(eval("'a' + 'b'").to_string() == "ab");
    CHECK(eval("!false && !(1 > 2)").truthy());
    CHECK(eval("1 < 2 == true").truthy());
}

TEST_CASE("logic short-circuits: the right side is not evaluated", "[expression]") {
    Ctx unset;
    unset.meta_set = false;
    CHECK_FALSE(eval("false && meta.status == 200", unset).truthy());
    CHECK(eval("true || meta.status == 200", unset).truthy());
}

TEST_CASE("functions", "[expression]") {
    CHECK(eval("length(meta.body)").to_string() == "11");
    CHECK(eval("contains(meta.body, 'world')").truthy());
    CHECK(eval("starts_with(meta.body, 'hell') && ends_with(meta.body, 'ld')").truthy());
    CHECK(eval("string(1 + 1) + 'x'").to_string() == "2x");
    CHECK(eval("number('42') + 1").to_string() == "43");
    CHECK(eval("exists(meta.status) && !exists(meta.nothing)").truthy());
    Ctx unset;
    unset.meta_set = false;
    CHECK(eval("default(meta.status, 0) == 0", unset).truthy());
    CHECK(eval("default(meta.status, 0) == 200").truthy());
}

TEST_CASE("run-time problems are errors with the expression and the reason", "[expression]") {
    CHECK(eval_error("meta.body > 3").find("'hello world' is not a number") != std::string::npos);
    CHECK(eval_error("meta.status / 0").find("division by zero") != std::string::npos);
    CHECK(eval_error("meta.nothing == 1").find("no field 'nothing'") != std::string::npos);
    Ctx unset;
    unset.meta_set = false;
    CHECK(eval_error("meta.status == 200", unset).find("not set yet") != std::string::npos);
    CHECK(eval_error("number(meta.body)").find("{{number(meta.body)}}") != std::string::npos);
}

TEST_CASE("compile errors say what and where", "[expression]") {
    auto [e1, o1] = compile_error("meta.status == ");
    CHECK(e1.find("ends too early") != std::string::npos);
    auto [e2, o2] = compile_error("1 + nosuch.x");
    CHECK(e2.find("no action saves a variable named 'nosuch'") != std::string::npos);
    CHECK(o2 == 4);
    auto [e3, o3] = compile_error("lenght(meta.body)");
    CHECK(e3.find("unknown function 'lenght'") != std::string::npos);
    auto [e4, o4] = compile_error("contains(meta.body)");
    CHECK(e4.find("contains() takes 2 arguments, found 1") != std::string::npos);
    auto [e5, o5] = compile_error("(1 + 2");
    CHECK(e5.find("expected ')'") != std::string::npos);
    auto [e6, o6] = compile_error("1 # 2");
    CHECK(e6.find("unexpected character '#'") != std::string::npos);
    CHECK(o6 == 2);
    auto [e7, o7] = compile_error("'open");
    CHECK(e7.find("unterminated string") != std::string::npos);
}

TEST_CASE("templates hold expressions, compiled once", "[expression][template]") {
    std::string err;
    size_t off = 0;
    auto t = Template::compile("n={{ length(meta.body) + 1 }} ok={{meta.status == 200}}", resolve, err, off);
    INFO(err);
    REQUIRE(t);
    CHECK(t->variables() == std::vector<uint32_t>{0, 0});
    Ctx ctx;
    std::string out;
    REQUIRE(t->render(ctx, out, err));
    CHECK(out == "n=12 ok=true");
    CHECK_FALSE(Template::compile("x {{ 1 + }}", resolve, err, off));
    CHECK(off == 8);  // the end of "1 +", where an operand is missing
}
