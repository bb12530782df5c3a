// Expression::eval: conditions (`if`, `loop while`, graph transitions) are compiled once at planning
// and evaluated per use against the user's saved fields. These measure one evaluation of typical
// conditions, reusing the result Value as Shard::test does not (it makes a fresh one per test): the
// allocs/iter counter shows what a condition costs on the heap.
#include <optional>
#include <string>
#include <string_view>

#include "alloc_counter.hpp"
#include "dsl/expression.hpp"

using namespace ntx;

namespace {

// A user that saved an HTTP result as `meta` (status, reason, a 512-byte body, a timing).
struct BenchContext final : dsl::RenderContext {
    dsl::Fields meta{{"status", "200"}, {"reason", "OK"}, {"body", std::string(512, 'x')}, {"time.total_ms", "12.5"}};
    std::optional<std::string_view> resource_field(std::string_view f) const override {
        if (f == "port") return std::string_view("20001");
        return std::nullopt;
    }
    const dsl::Fields* variable(uint32_t slot) const override { return slot == 0 ? &meta : nullptr; }
    std::string env(dsl::EnvVar) const override { return "4242"; }
};

void eval_loop(benchmark::State& state, std::string_view text, bool fresh_value) {
    std::string error;
    size_t offset = 0;
    auto e = dsl::Expression::compile(
        text, [](std::string_view name) -> std::optional<uint32_t> { return name == "meta" ? std::optional<uint32_t>(0) : std::nullopt; },
        error, offset);
    if (!e) {
        state.SkipWithError(error.c_str());
        return;
    }
    BenchContext ctx;
    dsl::Value v;
    if (!e->eval(ctx, v, error) || !v.truthy()) {
        state.SkipWithError(("does not hold: " + error).c_str());
        return;
    }
    const uint64_t before = ntx::bench::allocations();
    for (auto _ : state) {
        if (fresh_value) {
            dsl::Value fresh;  // as Shard::test does
            bool ok = e->eval(ctx, fresh, error);
            benchmark::DoNotOptimize(ok);
            benchmark::DoNotOptimize(fresh.b);
        } else {
            bool ok = e->eval(ctx, v, error);
            benchmark::DoNotOptimize(ok);
            benchmark::DoNotOptimize(v.b);
        }
    }
    ntx::bench::report_allocations(state, before);
}

// The tri-phase `if:` on a status: a string field compared with a number.
void BM_ExpressionStatusEquals(benchmark::State& state) { eval_loop(state, "meta.status == 200", true); }
BENCHMARK(BM_ExpressionStatusEquals);

// A range check joined with &&, and a function call on the saved body.
void BM_ExpressionStatusRangeAndLength(benchmark::State& state) {
    eval_loop(state, "meta.status >= 200 && meta.status < 300 && length(meta.body) > 0", true);
}
BENCHMARK(BM_ExpressionStatusRangeAndLength);

// Arithmetic on a saved timing and a resource field.
void BM_ExpressionArithmetic(benchmark::State& state) {
    eval_loop(state, "meta.time.total_ms * 2 + resource.port > 100", true);
}
BENCHMARK(BM_ExpressionArithmetic);

// A string comparison: the saved reason against a literal.
void BM_ExpressionStringEquals(benchmark::State& state) { eval_loop(state, "meta.reason == \"OK\"", true); }
BENCHMARK(BM_ExpressionStringEquals);

// The same as BM_ExpressionStatusRangeAndLength with one Value reused across evaluations.
void BM_ExpressionReusedValue(benchmark::State& state) {
    eval_loop(state, "meta.status >= 200 && meta.status < 300 && length(meta.body) > 0", false);
}
BENCHMARK(BM_ExpressionReusedValue);

}  // namespace
