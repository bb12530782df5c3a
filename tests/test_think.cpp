// think distributions and random(): compiled at planning, bad ones at file:line:col.
#include <catch2/catch.hpp>

#include "dsl/expression.hpp"
#include "dsl/script.hpp"
#include "support/dsl_load.hpp"

using namespace ntx;
using namespace ntx::test;

namespace {

std::string with_thinks(const std::string& thinks) {
    return R"(version: "1.0"
components:
  - {name: http, version: "0.2.1", entry: http}
workflows:
  wf:
    steps:
)" + thinks + R"(      - {action: http.get, with: {url: "http://127.0.0.1:1/?r={{random()}}"}}
load:
  scenarios:
    - {name: s, workflow: wf, user-count: 1}
)";
}

}  // namespace

TEST_CASE("think distributions compile", "[think]") {
    dsl::Script s = compiled(with_thinks(R"(      - think: 2s
      - think: {uniform: [1s, 3s]}
      - think: {normal: {mean: 2s, stddev: 500ms}}
      - think: {exponential: {mean: 250ms}}
)"));
    const auto& st = s.workflows[0].steps;
    REQUIRE(st.size() == 5);
    CHECK((st[0].think == dsl::Step::Think::fixed && st[0].think_ms == 2000));
    CHECK((st[1].think == dsl::Step::Think::uniform && st[1].think_ms == 1000 && st[1].think_max_ms == 3000));
    CHECK((st[2].think == dsl::Step::Think::normal && st[2].think_ms == 2000 && st[2].think_stddev_ms == 500));
    CHECK((st[3].think == dsl::Step::Think::exponential && st[3].think_ms == 250));
}

TEST_CASE("bad think distributions say where", "[think][bad-input]") {
    auto d = load(with_thinks(R"(      - think: {uniform: [3s, 1s]}
      - think: {uniform: 1s}
      - think: {normal: {mean: 2s}}
      - think: {poisson: {mean: 2s}}
      - think: {exponential: {mean: soon}}
)"));
    INFO(dump(d));
    CHECK(has(d, 7, 26, "max is below min"));
    CHECK(has(d, 8, 26, "takes [min, max]"));
    CHECK(has(d, 9, 25, "needs mean and stddev"));
    CHECK(has(d, 10, 17, "unknown key 'poisson'"));
    CHECK(has(d, 11, 37, "think.exponential.mean"));
    CHECK(d.size() == 5);
}

TEST_CASE("random() takes no argument and reads the context's generator", "[think][expression]") {
    std::string err;
    size_t at = 0;
    auto none = [](std::string_view) -> std::optional<uint32_t> { return std::nullopt; };
    CHECK_FALSE(dsl::Expression::compile("random(1)", none, err, at));
    CHECK(err.find("random() takes 0 arguments") != std::string::npos);
    auto e = dsl::Expression::compile("random() < 0.25", none, err, at);
    REQUIRE(e);
    struct Ctx final : dsl::RenderContext {
        double r = 0;
        std::optional<std::string_view> resource_field(std::string_view) const override { return std::nullopt; }
        const dsl::Fields* variable(uint32_t) const override { return nullptr; }
        std::string env(dsl::EnvVar) const override { return {}; }
        double random() const override { return r; }
    } ctx;
    dsl::Value v;
    ctx.r = 0.1;
    REQUIRE(e->eval(ctx, v, err));
    CHECK(v.truthy());
    ctx.r = 0.9;
    REQUIRE(e->eval(ctx, v, err));
    CHECK_FALSE(v.truthy());
}
