// save-as extract per request: one field out of a 4 KiB JSON body by a pointer compiled at planning,
// a regex capture over the same body, and a header regex. The Extractor (one per loop) is reused as a
// shard reuses it, and the saved fields' strings keep their capacity, so "allocs/iter" must be 0: no
// allocation beyond the captured value (whose string, once grown, is reused too).
#include <algorithm>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "dsl/extract.hpp"
#include "dsl/script.hpp"
#include "scheduler/extractor.hpp"

using namespace ntx;

namespace {

// A login answer padded to 4 KiB: the token sits after an array of 40 items, as APIs tend to put it.
std::string body_4k() {
    std::string b = R"({"user":{"id":7,"name":"Ada","roles":["admin","ops"]},"items":[)";
    for (int i = 0; b.size() < 3900; ++i)
        b += (i ? "," : "") + std::string(R"({"id":)") + std::to_string(i) + R"(,"sku":"SKU-)" + std::to_string(1000 + i) +
             R"(","qty":2,"price":19.99})";
    b += R"(],"session":{"token":"eyJhbGciOiJIUzI1NiJ9.c2Vzc2lvbi00MjQy.abc123","expires":3600}})";
    b.resize(std::max<size_t>(b.size(), 4096), ' ');  // trailing whitespace is valid JSON
    return b;
}

struct Result {
    std::vector<std::pair<std::string, std::string>> fields;
    std::vector<ntx_kv_t> kv;
    ntx_result_t r{};
    explicit Result(std::string body) {
        fields = {{"status", "200"}, {"headers.set-cookie", "sid=s-4242-abcdef; Path=/; HttpOnly"}, {"body", std::move(body)}};
        for (auto& [k, v] : fields) kv.push_back({{k.data(), k.size()}, {v.data(), v.size()}});
        r.size = sizeof(r);
        r.fields = kv.data();
        r.field_count = kv.size();
    }
};

dsl::ExtractSpec spec(dsl::ExtractSpec::Source source, const std::string& text, const std::string& name) {
    dsl::ExtractSpec x;
    x.name = name;
    x.source = source;
    std::string err;
    size_t at = 0;
    if (source == dsl::ExtractSpec::Source::json) x.pointer = *dsl::compile_json_pointer(text, err, at);
    else x.regex = dsl::compile_regex(text, err, at);
    if (source == dsl::ExtractSpec::Source::header) x.header_field = "headers.set-cookie";
    return x;
}

void run(benchmark::State& state, dsl::ExtractSpec x, const std::string& expected, int64_t bytes = 4096) {
    Result res(body_4k());
    dsl::ActionSpec a;
    a.extracts.push_back(std::move(x));
    scheduler::Extractor ex;
    dsl::Fields out(1);
    if (ex.run(a, res.r, out) || out[0].second != expected) {  // warm: the value's string grows once
        state.SkipWithError(("extracted '" + out[0].second + "', expected '" + expected + "'").c_str());
        return;
    }
    const uint64_t before = bench::allocations();
    for (auto _ : state) {
        auto miss = ex.run(a, res.r, out);
        benchmark::DoNotOptimize(miss);
        benchmark::DoNotOptimize(out[0].second.data());
    }
    bench::report_allocations(state, before);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * bytes);
}

const std::string kToken = "eyJhbGciOiJIUzI1NiJ9.c2Vzc2lvbi00MjQy.abc123";

void BM_ExtractJsonPointer4KiB(benchmark::State& state) {
    run(state, spec(dsl::ExtractSpec::Source::json, "/session/token", "token"), kToken);
}
BENCHMARK(BM_ExtractJsonPointer4KiB);

void BM_ExtractRegexBody4KiB(benchmark::State& state) {
    run(state, spec(dsl::ExtractSpec::Source::body, R"re("token":"([^"]+)")re", "token"), kToken);
}
BENCHMARK(BM_ExtractRegexBody4KiB);

void BM_ExtractHeaderRegex(benchmark::State& state) {
    run(state, spec(dsl::ExtractSpec::Source::header, "sid=([^;]+)", "sid"), "s-4242-abcdef", 36);
}
BENCHMARK(BM_ExtractHeaderRegex);

}  // namespace
