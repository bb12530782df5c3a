#include "report/junit.hpp"

#include "files/safe_file.hpp"

#include <fmt/format.h>

#include <fstream>
#include <stdexcept>

namespace ntx::report {

std::string xml_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&apos;"; break;
        default:
            // Control characters other than tab, newline and carriage return are not allowed in XML 1.0.
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') out += "\xEF\xBF\xBD";
            else out += static_cast<char>(c);
        }
    }
    return out;
}

namespace {

std::string value_text(double v, const std::string& unit) {
    if (unit == "ms") return fmt::format("{:.3f} ms", v);
    if (unit == "ratio") return fmt::format("{:.4f}%", v * 100.0);
    if (unit == "per_s") return fmt::format("{:.2f}/s", v);
    return fmt::format("{}", v);
}

// The error budget of an action: the limit of the tightest `<action>.error-rate <`/`<=` threshold
// naming it, else 0 (no error or timeout allowed).
struct Budget {
    double rate = 0;
    bool inclusive = true;  // `<=` (or the zero default: a rate of 0 passes)
    std::string from;       // the threshold's expression, when one set it
};

Budget budget_of(const Report& r, const ActionReport& a) {
    Budget b;
    bool set = false;
    for (const auto& t : r.thresholds) {
        if (t.metric != a.name + ".error-rate" || (t.op != "<" && t.op != "<=")) continue;
        if (!set || t.limit < b.rate) {
            b.rate = t.limit;
            b.inclusive = t.op == "<=";
            b.from = t.expression;
            set = true;
        }
    }
    return b;
}

}  // namespace

std::string to_junit(const Report& r) {
    std::string th, eb;
    size_t th_failed = 0, eb_failed = 0, eb_count = 0;
    for (const auto& t : r.thresholds) {
        th += fmt::format("    <testcase classname=\"thresholds\" name=\"{}\" file=\"{}\" line=\"{}\" time=\"0\">\n",
                          xml_escape(t.expression), xml_escape(t.file), t.line);
        if (!t.passed) {
            ++th_failed;
            th += fmt::format("      <failure type=\"threshold\" message=\"{}\">{} {} {}: actual {}</failure>\n",
                              xml_escape(fmt::format("{} is {}, limit {} {}", t.metric, value_text(t.actual, t.unit), t.op,
                                                     value_text(t.limit, t.unit))),
                              xml_escape(t.metric), xml_escape(t.op), xml_escape(value_text(t.limit, t.unit)),
                              xml_escape(value_text(t.actual, t.unit)));
        }
        th += "    </testcase>\n";
    }
    for (const auto& s : r.scenarios) {
        for (const auto& a : s.actions) {
            ++eb_count;
            Budget b = budget_of(r, a);
            const uint64_t failed = a.errors + a.timeouts;
            const double rate = a.count ? static_cast<double>(failed) / static_cast<double>(a.count) : 0.0;
            const bool ok = b.inclusive ? rate <= b.rate : rate < b.rate;
            eb += fmt::format("    <testcase classname=\"error-budget.{}\" name=\"{}\" time=\"{:.3f}\">\n",
                              xml_escape(s.name), xml_escape(a.name),
                              a.latency.mean_ms * static_cast<double>(a.ok) / 1000.0);
            if (!ok) {
                ++eb_failed;
                std::string limit = b.from.empty() ? std::string("no errors allowed")
                                                   : fmt::format("budget {} from '{}'", value_text(b.rate, "ratio"), b.from);
                eb += fmt::format("      <failure type=\"error-budget\" message=\"{}\">{}</failure>\n",
                                  xml_escape(fmt::format("{} of {} failed ({} errors, {} timeouts): {}; {}", failed, a.count,
                                                         a.errors, a.timeouts, value_text(rate, "ratio"), limit)),
                                  xml_escape([&] {
                                      std::string kinds;
                                      for (const auto& [k, n] : a.errors_by_kind) {
                                          kinds += fmt::format("{}: {}\n", k, n);
                                          for (const auto& e : a.error_examples)
                                              if (e.kind == k)
                                                  kinds += fmt::format("  the first (user {}, task {}, at {:.2f} s): {}\n",
                                                                       e.user, e.task, e.at_s, e.reason);
                                      }
                                      return kinds.empty() ? std::string("no error kinds recorded") : kinds;
                                  }()));
            }
            eb += "    </testcase>\n";
        }
    }
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out += fmt::format("<testsuites name=\"ntx {}\" tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{:.3f}\">\n",
                       xml_escape(r.res_dir), r.thresholds.size() + eb_count, th_failed + eb_failed, r.duration_s);
    out += fmt::format("  <testsuite name=\"thresholds\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" "
                       "timestamp=\"{}\" time=\"{:.3f}\">\n",
                       r.thresholds.size(), th_failed, xml_escape(r.started_at), r.duration_s);
    out += th;
    out += "  </testsuite>\n";
    out += fmt::format("  <testsuite name=\"error-budget\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" "
                       "timestamp=\"{}\" time=\"{:.3f}\">\n",
                       eb_count, eb_failed, xml_escape(r.started_at), r.duration_s);
    out += eb;
    out += "  </testsuite>\n</testsuites>\n";
    return out;
}

void write_junit(const Report& report, const std::filesystem::path& file) {
    files::write_atomic(file, to_junit(report));
}

}  // namespace ntx::report
