// The workbook's memory is bounded by the tasks running, never by the tasks run: the ledger reuses
// the slots of released entries, and the archive keeps (writes) what the retention asks for.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <fstream>
#include <set>
#include <string>
#include <zlib.h>

#include "ntx/host.hpp"
#include "support/temp_res_dir.hpp"
#include "workbook/archive.hpp"
#include "workbook/workbook.hpp"

using namespace ntx;
using namespace ntx::test;
namespace wb = ntx::workbook;

namespace {

wb::Names names(size_t scenarios = 1) {
    wb::Names n;
    n.program = "prog";
    for (size_t s = 0; s < scenarios; ++s) {
        n.scenarios.push_back("s" + std::to_string(s));
        n.workflows.push_back("wf");
    }
    n.actions = {"get"};
    return n;
}

std::vector<boost::json::object> read_lines(const std::filesystem::path& file) {
    std::vector<boost::json::object> out;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) out.push_back(boost::json::parse(line).as_object());
    return out;
}

// Closes `n` tasks through one shard's ledger and archive, `failed_every`-th ending in error; the
// rest done. Scenario = task % scenarios.
void run_tasks(wb::Ledger& l, wb::Archive& archive, uint64_t n, uint64_t failed_every, uint32_t scenarios = 1) {
    wb::Schema schema;
    std::vector<wb::Entry> batch;
    for (uint64_t t = 1; t <= n; ++t) {
        uint32_t i = l.open(t, t, static_cast<uint32_t>(t % scenarios), t, wb::State::executing_running_action);
        l.close(i, failed_every && t % failed_every == 0 ? wb::State::closing_error : wb::State::closing_done);
        l.clear_dirty(schema);
        l.release_closed([&](const wb::Entry& e) { archive.keep(0, e, batch); });
        archive.submit(batch);
    }
}

}  // namespace

TEST_CASE("the ledger reuses released slots: a million tasks hold the memory of the users online", "[workbook][retention]") {
    wb::Schema schema;
    auto note = *schema.add_field("registers.note", "");
    wb::Ledger l;
    // 50 users, each running 20,000 tasks in turn: at most 50 entries are ever open at once.
    std::vector<uint32_t> open(50, wb::kNoEntry);
    size_t bytes_after_first_round = 0;
    for (uint64_t round = 0; round < 20'000; ++round) {
        for (uint64_t u = 0; u < open.size(); ++u) {
            if (open[u] != wb::kNoEntry) l.close(open[u], round % 7 ? wb::State::closing_done : wb::State::closing_error);
            open[u] = l.open(u + 1, round * 50 + u + 1, 0, round, wb::State::executing_running_action);
            l.set_field(open[u], note, "a value longer than the small-string buffer of std::string", schema);
        }
        l.clear_dirty(schema);
        l.release_closed([](const wb::Entry&) {});
        if (round == 1) bytes_after_first_round = l.memory_bytes();
        REQUIRE(l.live() == 50);
    }
    CHECK(l.opened() == 1'000'000);
    // Released entries are counted by final state, then forgotten.
    const uint64_t* by_state = l.released_by_state();
    CHECK(by_state[static_cast<size_t>(wb::State::closing_done)] + by_state[static_cast<size_t>(wb::State::closing_error)] ==
          1'000'000 - 50);
    // Slots: 50 open + 50 closed in one tick at most; memory the same after 20,000 rounds as after 2.
    CHECK(l.memory_bytes() == bytes_after_first_round);
    CHECK(l.memory_bytes() < 100 * 1024);
}

TEST_CASE("an index of a closed entry is dropped: the hot-path setters ignore kNoEntry", "[workbook][retention]") {
    wb::Schema schema;
    wb::Ledger l;
    uint32_t i = l.open(1, 1, 0, 0, wb::State::executing_running_action);
    l.close(i, wb::State::closing_timeout);
    l.close(i, wb::State::closing_done);  // the first exit decides
    CHECK(l.at(i).state == wb::State::closing_timeout);
    l.set_state(wb::kNoEntry, wb::State::executing_thinking);
    l.set_evidence(wb::kNoEntry, wb::LastEvent::ok, 1);
    l.set_field(wb::kNoEntry, 0, "x", schema);
    l.clear_dirty(schema);
    std::vector<wb::State> released;
    l.release_closed([&](const wb::Entry& e) { released.push_back(e.state); });
    CHECK(released == std::vector<wb::State>{wb::State::closing_timeout});
    CHECK(l.live() == 0);
    // The freed slot is the next task's, clean.
    uint32_t j = l.open(2, 2, 0, 5, wb::State::executing_running_action);
    CHECK(j == i);
    CHECK(l.at(j).user_id == 2);
    CHECK(l.at(j).last_event == wb::LastEvent::none);
    CHECK(l.at(j).fields.empty());
}

TEST_CASE("retention all, failed, none, and the limit", "[workbook][retention]") {
    TempResDir dir;
    wb::Schema schema;
    auto n = names();
    SECTION("all: every entry, in the order they closed") {
        wb::Retention r;
        r.keep = wb::Retention::Keep::all;
        r.limit = 0;
        wb::Ledger l;
        wb::Archive a(schema, n, r, dir.path() / "w.jsonl", 0, 1, 1);
        run_tasks(l, a, 1000, 10);
        a.finish();
        auto lines = read_lines(dir.path() / "w.jsonl");
        REQUIRE(lines.size() == 1000);
        for (size_t k = 0; k < lines.size(); ++k) CHECK(lines[k]["task_id"].to_number<uint64_t>() == k + 1);
        CHECK(a.stats().written == 1000);
        CHECK(a.stats().kept == 1000);
    }
    SECTION("failed: exactly the entries that did not end closing.done") {
        wb::Retention r;
        r.keep = wb::Retention::Keep::failed;
        wb::Ledger l;
        wb::Archive a(schema, n, r, dir.path() / "w.jsonl", 0, 1, 1);
        run_tasks(l, a, 1000, 10);
        a.finish();
        auto lines = read_lines(dir.path() / "w.jsonl");
        REQUIRE(lines.size() == 100);
        for (auto& o : lines) {
            CHECK(o["state"].as_string() == "closing.error");
            CHECK(o["task_id"].to_number<uint64_t>() % 10 == 0);
        }
    }
    SECTION("the limit counts what the retention chose past it") {
        wb::Retention r;
        r.keep = wb::Retention::Keep::all;
        r.limit = 250;
        wb::Ledger l;
        wb::Archive a(schema, n, r, dir.path() / "w.jsonl", 0, 1, 1);
        run_tasks(l, a, 1000, 0);
        a.finish();
        CHECK(read_lines(dir.path() / "w.jsonl").size() == 250);
        CHECK(a.stats().over_limit == 750);
    }
    SECTION("none: no file, nothing kept") {
        wb::Retention r;
        r.keep = wb::Retention::Keep::none;
        wb::Archive a(schema, n, r, dir.path() / "w.jsonl", 0, 1, 1);
        CHECK_FALSE(a.active());
        a.finish();
        CHECK_FALSE(std::filesystem::exists(dir.path() / "w.jsonl"));
        CHECK(a.file_name().empty());
    }
}

TEST_CASE("samples: every Nth, a percentage by ids, the first N per scenario", "[workbook][retention]") {
    TempResDir dir;
    wb::Schema schema;
    auto n = names(2);
    wb::Retention r;
    r.keep = wb::Retention::Keep::sample;
    r.limit = 0;
    SECTION("every 100th") {
        r.sample = wb::Retention::Sample::every;
        r.sample_n = 100;
        wb::Ledger l;
        wb::Archive a(schema, n, r, dir.path() / "w.jsonl", 0, 1, 2);
        run_tasks(l, a, 10'000, 0, 2);
        a.finish();
        // per scenario: the 1st, 101st, ... of 5,000 each = 50 each.
        CHECK(read_lines(dir.path() / "w.jsonl").size() == 100);
    }
    SECTION("5 percent, the same tasks on a second run") {
        r.sample = wb::Retention::Sample::percent;
        r.sample_n = 5;
        std::set<uint64_t> first, second;
        for (auto* into : {&first, &second}) {
            wb::Ledger l;
            wb::Archive a(schema, n, r, dir.path() / "w.jsonl", 0, 1, 2);
            run_tasks(l, a, 20'000, 0, 2);
            a.finish();
            for (auto& o : read_lines(dir.path() / "w.jsonl")) into->insert(o["task_id"].to_number<uint64_t>());
        }
        CHECK(first == second);
        // 5% of 20,000 = 1,000; a binomial's sd is ~31: 850..1150 fails only on a broken hash.
        CHECK(first.size() > 850);
        CHECK(first.size() < 1150);
    }
    SECTION("the first 7 of each scenario") {
        r.sample = wb::Retention::Sample::first;
        r.sample_n = 7;
        wb::Ledger l;
        wb::Archive a(schema, n, r, dir.path() / "w.jsonl", 0, 1, 2);
        run_tasks(l, a, 1000, 0, 2);
        a.finish();
        auto lines = read_lines(dir.path() / "w.jsonl");
        REQUIRE(lines.size() == 14);
        size_t s0 = 0;
        for (auto& o : lines) s0 += o["scenario"].as_string() == "s0";
        CHECK(s0 == 7);
        // the first ones: tasks 1..14
        for (auto& o : lines) CHECK(o["task_id"].to_number<uint64_t>() <= 14);
    }
    SECTION("failed + sample keeps both, each once") {
        r.keep = wb::Retention::Keep::failed_and_sample;
        r.sample = wb::Retention::Sample::every;
        r.sample_n = 10;
        wb::Ledger l;
        wb::Archive a(schema, n, r, dir.path() / "w.jsonl", 0, 1, 1);
        run_tasks(l, a, 1000, 4);
        a.finish();
        auto lines = read_lines(dir.path() / "w.jsonl");
        std::set<uint64_t> ids;
        for (auto& o : lines) ids.insert(o["task_id"].to_number<uint64_t>());
        CHECK(ids.size() == lines.size());
        // 250 failed (tasks 4, 8, ...), plus every 10th entry seen (tasks 1, 11, 21, ...: 100, all odd,
        // so none of them failed).
        CHECK(lines.size() == 250 + 100);
    }
}

TEST_CASE("gzip: workbook.jsonl.gz decompresses to the same lines", "[workbook][retention]") {
    TempResDir dir;
    wb::Schema schema;
    auto n = names();
    wb::Retention r;
    r.keep = wb::Retention::Keep::all;
    r.limit = 0;
    r.gzip = true;
    wb::Ledger l;
    wb::Archive a(schema, n, r, dir.path() / "w.jsonl.gz", 10, 1, 1);
    run_tasks(l, a, 5000, 0);
    a.finish();
    gzFile gz = gzopen((dir.path() / "w.jsonl.gz").c_str(), "rb");
    REQUIRE(gz);
    std::string text;
    char buf[65536];
    for (int got; (got = gzread(gz, buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(got));
    gzclose(gz);
    CHECK(std::count(text.begin(), text.end(), '\n') == 5000);
    CHECK(a.stats().bytes == std::filesystem::file_size(dir.path() / "w.jsonl.gz"));
    CHECK(a.stats().bytes < text.size() / 4);  // repetitive JSON compresses well
    // keep_workbook's rows: capped.
    CHECK(a.rows().size() == 10);
}

TEST_CASE("a file that cannot be created is an error before the run", "[workbook][retention]") {
    wb::Schema schema;
    auto n = names();
    wb::Retention r;
    CHECK_THROWS_WITH(wb::Archive(schema, n, r, "/nonexistent-dir/x/workbook.jsonl", 0, 1, 1),
                      Catch::Contains("/nonexistent-dir/x/workbook.jsonl"));
}

TEST_CASE("describe says what the retention keeps", "[workbook][retention]") {
    wb::Retention r;
    CHECK(wb::describe(r) == "failed + every 100th, at most 100000");
    r.keep = wb::Retention::Keep::all;
    r.limit = 0;
    CHECK(wb::describe(r) == "all");
    r.keep = wb::Retention::Keep::sample;
    r.sample = wb::Retention::Sample::percent;
    r.sample_n = 2.5;
    CHECK(wb::describe(r) == "2.5%");
    // The public options mirror the internal ones value for value.
    RunOptions o;
    CHECK(static_cast<int>(o.workbook_retention.keep) == static_cast<int>(wb::Retention{}.keep));
    CHECK(o.workbook_retention.limit == wb::Retention{}.limit);
}
