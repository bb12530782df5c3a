#include "report/html_report.hpp"

#include "files/safe_file.hpp"

#include <fmt/format.h>

#include <fstream>
#include <stdexcept>

#include "report/junit.hpp"
#include "report/report_writer.hpp"

namespace ntx::report {

namespace {

std::string esc(std::string_view s) { return xml_escape(s); }

std::string num(double v, int digits = 2) { return fmt::format("{:.{}f}", v, digits); }

// The charts: drawn by the page's script from the embedded report.json (no library, no network).
constexpr const char* kScript = R"JS(
(function () {
  var data = JSON.parse(document.getElementById('ntx-data').textContent);
  var NS = 'http://www.w3.org/2000/svg';
  var colors = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(v) { return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2); }
  // series: [{name, points: [[x, y], ...]}]
  function chart(id, title, unit, series) {
    var host = document.getElementById(id);
    if (!host) return 0;
    var W = 560, H = 240, L = 56, R = 12, T = 28, B = 34;
    var svg = el('svg', {viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, 'class': 'chart', role: 'img'}, host);
    el('text', {x: L, y: 18, 'class': 'title'}, svg).textContent = title + (unit ? ' (' + unit + ')' : '');
    var xmax = 1, ymax = 0;
    series.forEach(function (s) { s.points.forEach(function (p) { xmax = Math.max(xmax, p[0]); ymax = Math.max(ymax, p[1]); }); });
    if (ymax <= 0) ymax = 1;
    ymax *= 1.1;
    function X(x) { return L + (W - L - R) * x / xmax; }
    function Y(y) { return H - B - (H - T - B) * y / ymax; }
    for (var i = 0; i <= 4; i++) {
      var y = ymax * i / 4;
      el('line', {x1: L, x2: W - R, y1: Y(y), y2: Y(y), 'class': 'grid'}, svg);
      el('text', {x: L - 6, y: Y(y) + 4, 'class': 'tick', 'text-anchor': 'end'}, svg).textContent = fmt(y);
    }
    for (var j = 0; j <= 5; j++) {
      var x = xmax * j / 5;
      el('text', {x: X(x), y: H - B + 16, 'class': 'tick', 'text-anchor': 'middle'}, svg).textContent = fmt(x) + 's';
    }
    el('line', {x1: L, x2: L, y1: T, y2: H - B, 'class': 'axis'}, svg);
    el('line', {x1: L, x2: W - R, y1: H - B, y2: H - B, 'class': 'axis'}, svg);
    var drawn = 0;
    series.forEach(function (s, k) {
      if (!s.points.length) return;
      var d = s.points.map(function (p, n) { return (n ? 'L' : 'M') + X(p[0]).toFixed(1) + ' ' + Y(p[1]).toFixed(1); }).join(' ');
      el('path', {d: d, fill: 'none', stroke: colors[k % colors.length], 'stroke-width': 2, 'class': 'series',
                  'data-series': s.name}, svg);
      var lx = L + 8 + (k % 3) * 170, ly = T + 14 + Math.floor(k / 3) * 14;
      el('rect', {x: lx, y: ly - 8, width: 10, height: 3, fill: colors[k % colors.length]}, svg);
      el('text', {x: lx + 14, y: ly - 4, 'class': 'legend'}, svg).textContent = s.name;
      drawn++;
    });
    return drawn;
  }
  var width = (data.interval_ms || 1000) / 1000;
  function series(pick, label) {
    var out = [];
    data.scenarios.forEach(function (s) {
      out.push({name: s.name + (label ? ' ' + label : ''),
                points: (s.intervals || []).filter(function (iv) { return pick(iv) !== null; })
                                            .map(function (iv) { return [iv.t_s + width, pick(iv)]; })});
    });
    return out;
  }
  var n = 0;
  n += chart('chart-throughput', 'Throughput', 'actions/s', series(function (iv) { return (iv.ok + iv.errors + iv.timeouts) / width; }));
  n += chart('chart-latency', 'Latency of ok actions', 'ms',
             // An interval in which no action ended ok has no latency: no point, rather than a false 0.
             series(function (iv) { return iv.ok ? iv.p50_ms : null; }, 'p50')
               .concat(series(function (iv) { return iv.ok ? iv.p99_ms : null; }, 'p99')));
  n += chart('chart-users', 'Online users', 'users', series(function (iv) { return iv.online; }));
  n += chart('chart-errors', 'Errors and timeouts', 'per s', series(function (iv) { return (iv.errors + iv.timeouts) / width; }));
  document.body.setAttribute('data-series-drawn', String(n));
})();
)JS";

constexpr const char* kStyle = R"CSS(
body { font: 14px/1.4 "DejaVu Sans", system-ui, sans-serif; margin: 24px; color: #111827; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
.meta { color: #4b5563; } .pass { color: #15803d; font-weight: bold; } .fail { color: #b91c1c; font-weight: bold; }
table { border-collapse: collapse; margin: 4px 0 12px; } th, td { padding: 3px 10px; border-bottom: 1px solid #e5e7eb; }
th { text-align: left; background: #f3f4f6; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg.chart { border: 1px solid #e5e7eb; background: #fff; }
svg .title { font-size: 13px; font-weight: bold; fill: #111827; } svg .tick, svg .legend { font-size: 10px; fill: #374151; }
svg .grid { stroke: #e5e7eb; } svg .axis { stroke: #6b7280; }
)CSS";

}  // namespace

std::string to_html(const Report& r) {
    std::string out;
    out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    // No network: the page may load nothing, not even from itself.
    out += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
           "script-src 'unsafe-inline'; img-src data:\">\n";
    out += fmt::format("<title>ntx report — {}</title>\n<style>{}</style>\n</head>\n<body>\n", esc(r.res_dir), kStyle);
    const bool passed = !r.interrupted && r.thresholds_passed();
    out += fmt::format("<h1>ntx report: {}</h1>\n", esc(r.res_dir));
    out += fmt::format("<p class=\"meta\">ntx {} · started {} · <span id=\"duration\">{}</span> s · "
                       "<span id=\"verdict\" class=\"{}\">{}</span></p>\n",
                       esc(r.ntx_version), esc(r.started_at), num(r.duration_s, 3), passed ? "pass" : "fail",
                       r.interrupted ? (r.aborted_by_threshold ? "aborted by a threshold" : "interrupted")
                                     : passed ? "passed" : "failed");
    out += "<h2>Totals</h2>\n<table id=\"totals\"><tr><th>actions</th><th>ok</th><th>errors</th><th>timeouts</th>"
           "<th>cancelled</th><th>actions/s</th><th>p50 ms</th><th>p99 ms</th></tr>\n";
    out += fmt::format("<tr><td class=\"n\" data-key=\"actions\">{}</td><td class=\"n\" data-key=\"ok\">{}</td>"
                       "<td class=\"n\" data-key=\"errors\">{}</td><td class=\"n\" data-key=\"timeouts\">{}</td>"
                       "<td class=\"n\" data-key=\"cancelled\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
                       "<td class=\"n\">{}</td></tr>\n</table>\n",
                       r.total_actions, r.total_ok, r.total_errors, r.total_timeouts, r.total_cancelled,
                       num(r.duration_s > 0 ? static_cast<double>(r.total_actions) / r.duration_s : 0, 1),
                       num(r.latency.p50_ms, 3), num(r.latency.p99_ms, 3));
    if (!r.thresholds.empty()) {
        out += "<h2>Thresholds</h2>\n<table id=\"thresholds\"><tr><th></th><th>threshold</th><th>actual</th></tr>\n";
        for (const auto& t : r.thresholds)
            out += fmt::format("<tr data-passed=\"{}\"><td class=\"{}\">{}</td><td>{}</td><td class=\"n\">{} {}</td></tr>\n",
                               t.passed ? "true" : "false", t.passed ? "pass" : "fail", t.passed ? "PASS" : "FAIL",
                               esc(t.expression), num(t.unit == "ratio" ? t.actual * 100 : t.actual, t.unit == "count" ? 0 : 3),
                               t.unit == "ratio" ? "%" : t.unit == "per_s" ? "/s" : t.unit == "count" ? "" : esc(t.unit));
        out += "</table>\n";
    }
    out += "<h2>Over time</h2>\n<div class=\"charts\"><div id=\"chart-throughput\"></div><div id=\"chart-latency\"></div>"
           "<div id=\"chart-users\"></div><div id=\"chart-errors\"></div></div>\n";
    for (const auto& s : r.scenarios) {
        out += fmt::format("<h2>Scenario {}</h2>\n<p class=\"meta\">workflow {}, {} model, {} s: {} users started, peak {} "
                           "online, {} completed, {} stopped; {} tasks; exits: timeout_out {}, error_out {}</p>\n",
                           esc(s.name), esc(s.workflow), esc(s.model), num(s.duration_s, 3), s.spawned, s.peak_online,
                           s.completed, s.stopped, s.tasks, s.exit_timeout, s.exit_error);
        out += fmt::format("<table class=\"actions\" data-scenario=\"{}\"><tr><th>action</th><th>count</th><th>ok</th>"
                           "<th>errors</th><th>timeouts</th><th>actions/s</th><th>min</th><th>mean</th><th>p50</th><th>p90</th>"
                           "<th>p95</th><th>p99</th><th>p99.9</th><th>max</th></tr>\n",
                           esc(s.name));
        for (const auto& a : s.actions) {
            const auto& l = a.latency;
            out += fmt::format("<tr data-action=\"{}\"><td>{}</td><td class=\"n\" data-key=\"count\">{}</td>"
                               "<td class=\"n\" data-key=\"ok\">{}</td><td class=\"n\" data-key=\"errors\">{}</td>"
                               "<td class=\"n\" data-key=\"timeouts\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
                               "<td class=\"n\">{}</td><td class=\"n\" data-key=\"p50\">{}</td><td class=\"n\">{}</td>"
                               "<td class=\"n\">{}</td><td class=\"n\" data-key=\"p99\">{}</td><td class=\"n\">{}</td>"
                               "<td class=\"n\">{}</td></tr>\n",
                               esc(a.name), esc(a.name), a.count, a.ok, a.errors, a.timeouts,
                               num(s.duration_s > 0 ? static_cast<double>(a.count) / s.duration_s : 0, 1), num(l.min_ms, 3),
                               num(l.mean_ms, 3), num(l.p50_ms, 3), num(l.p90_ms, 3), num(l.p95_ms, 3), num(l.p99_ms, 3),
                               num(l.p999_ms, 3), num(l.max_ms, 3));
        }
        out += "</table>\n<p class=\"meta\">latencies in ms, of the actions that ended ok</p>\n";
        // Why actions failed: each kind's count and its first error (user and task name the workbook entry).
        std::string why;
        for (const auto& a : s.actions)
            for (const auto& [kind, n] : a.errors_by_kind) {
                std::string first;
                for (const auto& e : a.error_examples)
                    if (e.kind == kind)
                        first = fmt::format("user {}, task {}, at {} s: {}", e.user, e.task, num(e.at_s, 2), esc(e.reason));
                why += fmt::format("<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>\n", esc(a.name),
                                   esc(kind), n, first);
            }
        if (!s.condition_error_example.empty())
            why += fmt::format("<tr><td>(conditions)</td><td>condition</td><td class=\"n\">{}</td><td>{}</td></tr>\n",
                               s.condition_errors, esc(s.condition_error_example));
        if (!why.empty())
            out += fmt::format("<table class=\"errors\" data-scenario=\"{}\"><tr><th>action</th><th>error</th>"
                               "<th>count</th><th>the first</th></tr>\n{}</table>\n",
                               esc(s.name), why);
    }
    std::string json = to_json(r);
    // Inside <script>, "</" would end the element: JSON allows "<\/" for it.
    for (size_t at = json.find("</"); at != std::string::npos; at = json.find("</", at + 3)) json.replace(at, 2, "<\\/");
    out += "<script type=\"application/json\" id=\"ntx-data\">" + json + "</script>\n";
    out += std::string("<script>") + kScript + "</script>\n</body>\n</html>\n";
    return out;
}

void write_html(const Report& report, const std::filesystem::path& file) {
    files::write_atomic(file, to_html(report));
}

}  // namespace ntx::report
