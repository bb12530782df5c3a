// ntx/distributed.hpp's merge_runs over the merge module and the report writers.
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "merge/merge.hpp"
#include "merge/report_reader.hpp"
#include "ntx/distributed.hpp"
#include "ntx/host.hpp"
#include "report/html_report.hpp"
#include "report/junit.hpp"
#include "report/report_writer.hpp"

NTX_BEGIN_NAMESPACE

namespace {

// The segments' workbook snapshots (workbook.jsonl or .gz) as one workbook.jsonl, each entry marked
// with the segment that ran it ({"segment":I,...}); user and task ids are already unique across
// segments. Line by line: memory does not grow with the snapshots. The bytes written (0: none).
uint64_t merge_workbooks(const std::vector<merge::Input>& inputs, const std::filesystem::path& out) {
    namespace fs = std::filesystem;
    std::ofstream file;
    uint64_t bytes = 0;
    for (const auto& in : inputs) {
        const fs::path dir = fs::path(in.name).parent_path();
        fs::path snapshot = dir / (in.report.workbook.snapshot.empty() ? "workbook.jsonl" : in.report.workbook.snapshot);
        if (!fs::is_regular_file(snapshot)) continue;
        gzFile gz = gzopen(snapshot.c_str(), "rb");  // reads plain files too
        if (!gz) throw std::runtime_error("cannot read " + snapshot.string());
        if (!file.is_open()) {
            file.open(out, std::ios::binary | std::ios::trunc);
            if (!file) {
                gzclose(gz);
                throw std::runtime_error("cannot write " + out.string());
            }
        }
        const std::string mark = "{\"segment\":" + std::to_string(in.report.segment_index) + ",";
        std::string line;
        char buf[64 * 1024];
        while (gzgets(gz, buf, sizeof buf)) {
            line += buf;
            if (line.empty() || line.back() != '\n') continue;  // a line longer than the buffer
            if (line.size() > 2 && line[0] == '{') {
                file << mark << std::string_view(line).substr(1);
                bytes += mark.size() + line.size() - 1;
            }
            line.clear();
        }
        gzclose(gz);
    }
    if (file.is_open() && !file.flush()) throw std::runtime_error("cannot write " + out.string());
    return bytes;
}

}  // namespace

Report merge_runs(const std::vector<std::string>& dirs, const std::string& out_dir) {
    namespace fs = std::filesystem;
    std::vector<merge::Input> inputs;
    std::vector<Diagnostic> problems;
    for (const auto& dir : dirs) {
        fs::path file = fs::path(dir);
        if (fs::is_directory(file)) file /= "report.json";
        try {
            inputs.push_back({file.string(), merge::read_report(file)});
        } catch (const std::exception& e) {
            problems.push_back({file.string(), 0, 0, e.what(), {}});
        }
    }
    if (dirs.empty()) problems.push_back({"ntx merge", 0, 0, "no report folders given", {}});
    if (!problems.empty()) throw InvalidInput(std::move(problems));
    Report report = merge::merge(inputs, problems);
    if (!problems.empty()) throw InvalidInput(std::move(problems));
    if (!out_dir.empty()) {
        try {
            fs::create_directories(out_dir);
            if (uint64_t bytes = merge_workbooks(inputs, fs::path(out_dir) / "workbook.jsonl")) {
                report.workbook.snapshot = "workbook.jsonl";
                report.workbook.snapshot_bytes = bytes;
            }
            report::write_json(report, fs::path(out_dir) / "report.json");
            report::write_junit(report, fs::path(out_dir) / "report.xml");
            report::write_html(report, fs::path(out_dir) / "report.html");
        } catch (const std::exception& e) {
            throw RuntimeFailure(std::string("the merged reports could not be written: ") + e.what());
        }
    }
    return report;
}

NTX_END_NAMESPACE
