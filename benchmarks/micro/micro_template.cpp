// Template::render: every action's `with` values are rendered per request into strings the user
// keeps (ProtocolFrame::dispatch clears and reuses them). Once those strings have grown, rendering
// must allocate nothing; "allocs/iter" is counted by the binary's replaced global operator new.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alloc_counter.hpp"
#include "dsl/script.hpp"
#include "dsl/template.hpp"
#include "resource/pair_pool.hpp"

using namespace ntx;

namespace {

constexpr std::string_view kTriPhaseUrl = "http://{{resource.ip}}:{{resource.port}}/asset";

// Reads like scheduler::User: resource fields come from a leased item of a real PairPool (the
// tri-phase example's manifest, 1000 ip:port rows), saved variables from reused Fields.
struct BenchContext final : dsl::RenderContext {
    const resource::PairPool* pool = nullptr;
    uint32_t item = 0;
    dsl::Fields asset;
    bool asset_set = false;
    uint64_t user_id = 4242;

    std::optional<std::string_view> resource_field(std::string_view field) const override {
        int f = pool->field_index(field);
        if (f < 0) return std::nullopt;
        return pool->value(item, f);
    }
    const dsl::Fields* variable(uint32_t slot) const override { return slot == 0 && asset_set ? &asset : nullptr; }
    std::string env(dsl::EnvVar) const override { return std::to_string(user_id); }  // as User::env(user_id)
};

std::unique_ptr<resource::PairPool> load_example_pool(std::string& error) {
    dsl::PoolSpec spec;
    spec.name = "ip-port-pool";
    spec.manifest = std::filesystem::path(NTX_BENCH_SOURCE_DIR) / "examples/http-tri-phase/resource.csv";
    spec.fields = {"ip", "port"};
    std::vector<Diagnostic> diagnostics;
    auto pool = resource::PairPool::load(spec, diagnostics);
    if (!pool || !diagnostics.empty() || pool->size() == 0) {
        error = diagnostics.empty() ? "cannot load " + spec.manifest.string() : diagnostics.front().to_string();
        return nullptr;
    }
    return pool;
}

std::optional<dsl::Template> compile(std::string_view text, std::string& error) {
    size_t offset = 0;
    return dsl::Template::compile(
        text, [](std::string_view name) -> std::optional<uint32_t> { return name == "asset" ? std::optional<uint32_t>(0) : std::nullopt; },
        error, offset);
}

// Renders `text` per iteration into one reused string, exactly as dispatch does (clear, render).
void render_loop(benchmark::State& state, std::string_view text, BenchContext& ctx) {
    std::string error;
    auto t = compile(text, error);
    if (!t) {
        state.SkipWithError(error.c_str());
        return;
    }
    std::string out;
    // Warm: the first render grows `out`; from then on its capacity is reused.
    if (!t->render(ctx, out, error)) {
        state.SkipWithError(error.c_str());
        return;
    }
    const size_t expected = out.size();
    const uint64_t before = ntx::bench::allocations();
    for (auto _ : state) {
        out.clear();
        bool ok = t->render(ctx, out, error);
        benchmark::DoNotOptimize(ok);
        benchmark::DoNotOptimize(out.data());
    }
    ntx::bench::report_allocations(state, before);
    if (out.size() != expected) state.SkipWithError("rendering changed between iterations");
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * expected));
}

void BM_TemplateRenderTriPhaseUrl(benchmark::State& state) {
    std::string error;
    auto pool = load_example_pool(error);
    if (!pool) {
        state.SkipWithError(error.c_str());
        return;
    }
    BenchContext ctx;
    ctx.pool = pool.get();
    ctx.item = static_cast<uint32_t>(pool->size() / 2);
    render_loop(state, kTriPhaseUrl, ctx);
}
BENCHMARK(BM_TemplateRenderTriPhaseUrl);

// The tri-phase POST body: a saved 512-byte response body copied into the request.
void BM_TemplateRenderSavedBody(benchmark::State& state) {
    BenchContext ctx;
    ctx.asset = {{"status", "200"}, {"reason", "OK"}, {"headers.content-type", "application/json"},
                 {"body", std::string(512, 'x')}};
    ctx.asset_set = true;
    render_loop(state, "{{asset.body}}", ctx);
}
BENCHMARK(BM_TemplateRenderSavedBody);

// env.* returns a std::string by value: free while it fits the small-string buffer (15 chars).
void BM_TemplateRenderEnvUserId(benchmark::State& state) {
    BenchContext ctx;
    render_loop(state, "/users/{{env.user_id}}", ctx);
}
BENCHMARK(BM_TemplateRenderEnvUserId);

// For contrast: compiling is what planning does once per template (never per request).
void BM_TemplateCompileTriPhaseUrl(benchmark::State& state) {
    std::string error;
    const uint64_t before = ntx::bench::allocations();
    for (auto _ : state) {
        auto t = compile(kTriPhaseUrl, error);
        benchmark::DoNotOptimize(t);
    }
    ntx::bench::report_allocations(state, before);
}
BENCHMARK(BM_TemplateCompileTriPhaseUrl);

}  // namespace
