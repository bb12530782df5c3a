#include <catch2/catch.hpp>

#include "dsl/template.hpp"

using namespace ntx::dsl;

namespace {

struct Ctx : RenderContext {
    Fields asset{{"status", "200"}, {"body", "{\"a\":1}"}, {"headers.content-type", "application/json"}};
    bool asset_set = true;
    std::optional<std::string_view> resource_field(std::string_view f) const override {
        if (f == "ip") return std::string_view("127.0.0.1");
        if (f == "port") return std::string_view("20001");
        return std::nullopt;
    }
    const Fields* variable(uint32_t slot) const override { return slot == 0 && asset_set ? &asset : nullptr; }
    std::string env(EnvVar v) const override { return v == EnvVar::user_id ? "7" : "x"; }
};

std::optional<uint32_t> resolve(std::string_view name) {
    if (name == "asset") return 0u;
    return std::nullopt;
}

std::string render(const std::string& text, std::string* error = nullptr) {
    std::string err;
    size_t off = 0;
    auto t = Template::compile(text, resolve, err, off);
    REQUIRE(t);
    Ctx ctx;
    std::string out;
    bool ok = t->render(ctx, out, err);
    if (error) *error = ok ? "" : err;
    return out;
}

}  // namespace

TEST_CASE("templates render resources, saved fields and env", "[template]") {
    CHECK(render("http://{{resource.ip}}:{{ resource.port }}/asset") == "http://127.0.0.1:20001/asset");
    CHECK(render("{{asset.body}}") == "{\"a\":1}");
    CHECK(render("{{asset}}") == "{\"a\":1}");  // a bare variable is its body
    CHECK(render("{{asset.headers.content-type}}") == "application/json");
    CHECK(render("u{{env.user_id}}") == "u7");
    CHECK(render("no templates here") == "no templates here");
}

TEST_CASE("template compile errors say what and where", "[template]") {
    std::string err;
    size_t off = 0;
    CHECK_FALSE(Template::compile("abc {{resource.ip", resolve, err, off));
    CHECK(err.find("unterminated") != std::string::npos);
    CHECK(off == 4);
    CHECK_FALSE(Template::compile("x{{nosuch.body}}", resolve, err, off));
    CHECK(err.find("no action saves a variable named 'nosuch'") != std::string::npos);
    CHECK(off == 1);
    CHECK_FALSE(Template::compile("{{env.planet}}", resolve, err, off));
    CHECK_FALSE(Template::compile("{{a b}}", resolve, err, off));
}

TEST_CASE("rendering a missing value is an error, not a crash", "[template]") {
    std::string err;
    size_t off = 0;
    auto t = Template::compile("{{asset.missing}}", resolve, err, off);
    REQUIRE(t);
    Ctx ctx;
    std::string out;
    CHECK_FALSE(t->render(ctx, out, err));
    CHECK(err.find("no field 'missing'") != std::string::npos);
    ctx.asset_set = false;
    auto t2 = Template::compile("{{asset.body}}", resolve, err, off);
    CHECK_FALSE(t2->render(ctx, out, err));
    CHECK(err.find("not set yet") != std::string::npos);
    auto t3 = Template::compile("{{resource.region}}", resolve, err, off);
    CHECK_FALSE(t3->render(ctx, out, err));
}
