#include "report/html_report.hpp"

#include "files/safe_file.hpp"

#include <fmt/format.h>

#include <fstream>
#include <stdexcept>

#include "metrics/timeline.hpp"
#include "report/chartjs.hpp"
#include "report/junit.hpp"
#include "report/report_writer.hpp"

namespace ntx::report {

namespace {

std::string esc(std::string_view s) { return xml_escape(s); }

std::string num(double v, int digits = 2) { return fmt::format("{:.{}f}", v, digits); }

// The charts' series: at most this many points each (a 24-hour run's 2,000 intervals merge 4 to 1).
constexpr size_t kChartPoints = 600;

// A copy of `r` whose series have at most kChartPoints points, `interval_ms` as wide as theirs.
Report chart_data(const Report& r) {
    Report c = r;
    uint64_t factor = 1;
    for (auto& s : c.scenarios) {
        uint64_t f = 1;
        s.intervals = metrics::downsample(s.intervals, kChartPoints, f);
        factor = std::max(factor, f);
        for (auto& a : s.actions) a.intervals = metrics::downsample(a.intervals, kChartPoints, f);
    }
    c.interval_ms = r.interval_ms * factor;
    return c;
}

// A latency cell: "–" when no action ended ok (there is no latency to show, not a latency of 0).
std::string latency_cell(const ActionReport& a, double v, const char* key = nullptr) {
    if (!a.ok) return fmt::format("<td class=\"dim\"{}>–</td>", key ? fmt::format(" data-key=\"{}\"", key) : "");
    return fmt::format("<td class=\"n\"{}>{}</td>", key ? fmt::format(" data-key=\"{}\"", key) : "", num(v, 3));
}

// The charts: drawn with Chart.js (inlined) from the embedded data (report.json, its series merged to
// at most kChartPoints points). Each chart marks its canvas data-drawn="1" once rendered, and the body
// counts them (data-charts-drawn / data-charts-expected): what the test in headless Chromium reads.
constexpr const char* kScript = R"JS((function () {
  'use strict';
  var body = document.body;
  window.addEventListener('error', function (e) { body.setAttribute('data-js-error', String(e.message)); });
  var data = JSON.parse(document.getElementById('ntx-data').textContent);
  var width = (data.chart_interval_ms || data.interval_ms || 1000) / 1000;
  var colors = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];
  var outcome = {ok: '#16a34a', errors: '#dc2626', timeouts: '#ea580c'};
  var expected = 0, drawn = 0;
  // Readable numbers: durations in s/m/h, latencies in us/ms/s, counts with k/M.
  function dur(s) {
    if (s < 60) return (Math.round(s * 10) / 10) + 's';
    if (s < 3600) { var m = Math.floor(s / 60), r = Math.round(s % 60); return m + 'm' + (r ? r + 's' : ''); }
    var h = Math.floor(s / 3600), mm = Math.round((s % 3600) / 60); return h + 'h' + (mm ? mm + 'm' : '');
  }
  function ms(v) {
    if (v === 0) return '0';
    if (v < 1) return +(v * 1000).toPrecision(3) + ' µs';
    if (v < 1000) return +v.toPrecision(3) + ' ms';
    return +(v / 1000).toPrecision(3) + ' s';
  }
  function count(v) {
    var a = Math.abs(v);
    if (a >= 1e6) return +(v / 1e6).toPrecision(3) + 'M';
    if (a >= 1e4) return +(v / 1e3).toPrecision(3) + 'k';
    return +v.toPrecision(4) + '';
  }
  // A time axis with steps people count in: 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h.
  function timeStep(max) {
    var steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
    for (var i = 0; i < steps.length; i++) if (max / steps[i] <= 8) return steps[i];
    return 86400;
  }
  var drawnPlugin = {
    id: 'ntxDrawn',
    afterRender: function (chart) {
      if (chart.$ntxDrawn) return;
      chart.$ntxDrawn = true;
      chart.canvas.setAttribute('data-drawn', '1');
      body.setAttribute('data-charts-drawn', String(++drawn));
    }
  };
  function card(parent, title, note) {
    var d = document.createElement('div');
    d.className = 'card';
    var h = document.createElement('h3');
    h.textContent = title;
    d.appendChild(h);
    if (note) { var p = document.createElement('p'); p.className = 'note'; p.textContent = note; d.appendChild(p); }
    parent.appendChild(d);
    return d;
  }
  // A chart in a new card of `parent`. kind: 'time' (x in seconds) or 'category'; yfmt formats the y axis.
  function chart(parent, title, type, datasets, opts) {
    opts = opts || {};
    var c = card(parent, title, opts.note);
    var box = document.createElement('div');
    box.className = 'box';
    var canvas = document.createElement('canvas');
    canvas.setAttribute('data-chart', title);
    box.appendChild(canvas);
    c.appendChild(box);
    var yfmt = opts.yfmt || count;
    var x;
    if (opts.labels) {
      x = {type: 'category', stacked: !!opts.stacked, ticks: {maxRotation: 0, autoSkipPadding: 8}};
    } else {
      var xmax = width;
      datasets.forEach(function (d) { d.data.forEach(function (p) { xmax = Math.max(xmax, p.x); }); });
      x = {type: 'linear', min: 0, max: xmax, stacked: !!opts.stacked,
           ticks: {stepSize: timeStep(xmax), callback: function (v) { return dur(v); }, maxRotation: 0}};
    }
    expected++;
    body.setAttribute('data-charts-expected', String(expected));
    return new Chart(canvas, {
      type: type,
      data: {labels: opts.labels, datasets: datasets},
      plugins: [drawnPlugin],
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, parsing: opts.labels ? undefined : false,
        normalized: true, spanGaps: false,
        interaction: {mode: opts.labels ? 'index' : 'nearest', axis: 'x', intersect: false},
        elements: {point: {radius: 0, hitRadius: 6}, line: {borderWidth: 2, tension: 0}},
        scales: {x: x, y: {beginAtZero: true, stacked: !!opts.stacked, grace: '5%',
                           ticks: {callback: function (v) { return yfmt(v); }, maxTicksLimit: 6}}},
        plugins: {
          legend: {labels: {boxWidth: 12, font: {size: 11}}},
          tooltip: {callbacks: {
            title: function (items) { return items.length ? (opts.labels ? items[0].label : 'at ' + dur(items[0].parsed.x)) : ''; },
            label: function (i) { return i.dataset.label + ': ' + (opts.tipfmt || yfmt)(i.parsed.y); }}}
        }
      }
    });
  }
  function line(label, points, color, extra) {
    var d = {label: label, data: points, borderColor: color, backgroundColor: color, fill: false};
    for (var k in extra || {}) d[k] = extra[k];
    return d;
  }
  function pts(intervals, pick) {
    var out = [];
    (intervals || []).forEach(function (iv) { var y = pick(iv); if (y !== null) out.push({x: iv.t_s + width, y: y}); });
    return out;
  }
  // A threshold as a dashed horizontal line over the chart's time span, red when it failed.
  function thresholdLine(t, xmax, value) {
    return line((t.passed ? 'PASS ' : 'FAIL ') + t.expression, [{x: 0, y: value}, {x: xmax, y: value}],
                t.passed ? '#6b7280' : '#b91c1c', {borderDash: [6, 4], borderWidth: 1.5});
  }
  function spanOf(intervals) { var n = (intervals || []).length; return n ? intervals[n - 1].t_s + width : width; }
  var thresholds = data.thresholds || [];
  // The thresholds on `metric` prefix (an action's name, or '' for the run's), by the unit they are in.
  function thresholdsFor(prefix, units) {
    return thresholds.filter(function (t) {
      var m = t.metric || '';
      var dot = m.lastIndexOf('.');
      var owner = dot < 0 ? '' : m.slice(0, dot);
      return units.indexOf(t.unit) >= 0 && (prefix === '' ? owner === '' || owner === 'errors' || owner === 'http_reqs' : owner === prefix || owner.endsWith('.' + prefix));
    });
  }
  var lat = ['p50', 'p95', 'p99'], latColors = ['#2563eb', '#9333ea', '#dc2626'];

  // The run over time: one series per scenario.
  var overview = document.getElementById('charts-overview');
  var sc = data.scenarios || [];
  var runSpan = 0;
  sc.forEach(function (s) { runSpan = Math.max(runSpan, spanOf(s.intervals)); });
  chart(overview, 'Throughput (actions/s)', 'line', sc.map(function (s, k) {
    return line(s.name, pts(s.intervals, function (iv) { return (iv.ok + iv.errors + iv.timeouts) / width; }), colors[k % 8]);
  }).concat(thresholdsFor('', ['per_s']).map(function (t) { return thresholdLine(t, runSpan, t.limit); })),
        {tipfmt: function (v) { return count(v) + '/s'; }});
  var latSets = [];
  sc.forEach(function (s, k) {
    lat.forEach(function (p, j) {
      latSets.push(line(s.name + ' ' + p, pts(s.intervals, function (iv) { return iv.ok ? iv[p + '_ms'] : null; }),
                        sc.length > 1 ? colors[k % 8] : latColors[j], {borderDash: sc.length > 1 ? [[], [4, 2], [1, 2]][j] : []}));
    });
  });
  thresholdsFor('', ['ms']).forEach(function (t) { latSets.push(thresholdLine(t, runSpan, t.limit)); });
  chart(overview, 'Latency of ok actions', 'line', latSets, {yfmt: ms});
  chart(overview, 'Users online', 'line', sc.map(function (s, k) {
    return line(s.name, pts(s.intervals, function (iv) { return iv.online; }), colors[k % 8], {stepped: true});
  }));
  chart(overview, 'Errors and timeouts (per s)', 'line', sc.map(function (s, k) {
    return line(s.name, pts(s.intervals, function (iv) { return (iv.errors + iv.timeouts) / width; }), colors[k % 8]);
  }), {tipfmt: function (v) { return count(v) + '/s'; }});

  // Per scenario, per action: throughput by outcome, latency percentiles, errors by kind, distribution, status.
  var known = {name: 1, component: 1, call: 1, count: 1, ok: 1, errors: 1, timeouts: 1, cancelled: 1, retries: 1,
               throttled: 1, dynamic: 1, origin: 1, errors_by_kind: 1, error_examples: 1, status_classes: 1, protocols: 1,
               bytes_sent: 1, bytes_received: 1, throughput_per_s: 1, latency_ms: 1, latency_distribution: 1, latency_histogram: 1, intervals: 1};
  sc.forEach(function (s, si) {
    var host = document.getElementById('charts-scenario-' + si);
    if (!host) return;
    (s.actions || []).forEach(function (a) {
      var sec = document.createElement('div');
      sec.className = 'action';
      sec.setAttribute('data-action', a.name);
      var h = document.createElement('h3');
      h.className = 'action-title';
      h.textContent = a.name + ' (' + a.component + '.' + a.call + ')';
      sec.appendChild(h);
      var grid = document.createElement('div');
      grid.className = 'charts';
      sec.appendChild(grid);
      host.appendChild(sec);
      var iv = a.intervals || [];
      var span = spanOf(iv);
      if (iv.length) {
        chart(grid, 'Throughput by outcome (per s)', 'line', ['ok', 'errors', 'timeouts'].map(function (k, j) {
          return line(k, pts(iv, function (p) { return p[k] / width; }), outcome[k],
                      {fill: j ? '-1' : 'origin', backgroundColor: outcome[k] + '55'});
        }).concat(thresholdsFor(a.name, ['per_s']).map(function (t) { return thresholdLine(t, span, t.limit); })),
              {stacked: true, tipfmt: function (v) { return count(v) + '/s'; }});
        if (a.ok) {
          var sets = lat.map(function (p, j) {
            return line(p, pts(iv, function (x) { return x.ok ? x[p + '_ms'] : null; }), latColors[j]);
          });
          thresholdsFor(a.name, ['ms']).forEach(function (t) { sets.push(thresholdLine(t, span, t.limit)); });
          chart(grid, 'Latency of ok actions', 'line', sets, {yfmt: ms});
        }
        var kinds = [];
        iv.forEach(function (p) { for (var k in p.errors_by_kind || {}) if (kinds.indexOf(k) < 0) kinds.push(k); });
        if (kinds.length || a.timeouts) {
          var ksets = kinds.map(function (k, j) {
            return line(k, pts(iv, function (p) { return ((p.errors_by_kind || {})[k] || 0) / width; }), colors[(j + 1) % 8],
                        {fill: j ? '-1' : 'origin', backgroundColor: colors[(j + 1) % 8] + '55'});
          });
          if (a.timeouts) ksets.push(line('timeout', pts(iv, function (p) { return p.timeouts / width; }), '#ea580c',
                                          {fill: kinds.length ? '-1' : 'origin', backgroundColor: '#ea580c55'}));
          chart(grid, 'Errors by kind (per s)', 'line', ksets, {stacked: true, tipfmt: function (v) { return count(v) + '/s'; }});
        }
      }
      var hist = a.latency_distribution || [];
      if (hist.length) {
        var total = 0;
        hist.forEach(function (b) { total += b[1]; });
        chart(grid, 'Latency distribution of ok actions', 'bar', [{label: 'actions', data: hist.map(function (b) { return b[1]; }),
              backgroundColor: '#2563eb', barPercentage: 1, categoryPercentage: 1}],
              {labels: hist.map(function (b) { return '≤ ' + ms(b[0]); }),
               tipfmt: function (v) { return count(v) + ' (' + (100 * v / total).toFixed(2) + '%)'; }});
      }
      var classes = Object.keys(a.status_classes || {});
      if (classes.length) {
        var palette = {'1xx': '#6b7280', '2xx': '#16a34a', '3xx': '#0891b2', '4xx': '#ea580c', '5xx': '#dc2626'};
        chart(grid, 'Status codes', 'bar', [{label: 'actions', data: classes.map(function (c) { return a.status_classes[c]; }),
              backgroundColor: classes.map(function (c) { return palette[c] || '#6b7280'; })}], {labels: classes});
      }
      // Whatever else report.json holds for the action (keys later versions add): shown, not lost.
      var rows = [];
      Object.keys(a).forEach(function (k) {
        if (known[k]) return;
        var v = a[k];
        if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') rows.push([k, String(v)]);
        else if (v && typeof v === 'object' && !Array.isArray(v)) {
          var parts = [];
          for (var f in v) {
            var x = v[f];
            if (typeof x === 'number') parts.push(f + ' ' + (/_ms$/.test(k) ? ms(x) : count(x)));
            else if (typeof x !== 'object') parts.push(f + ' ' + String(x));
          }
          if (parts.length) rows.push([k, parts.join(', ')]);
        }
      });
      if (rows.length) {
        var t = document.createElement('table');
        t.className = 'more';
        rows.forEach(function (r) {
          var tr = document.createElement('tr');
          var th = document.createElement('th'); th.textContent = r[0]; tr.appendChild(th);
          var td = document.createElement('td'); td.textContent = r[1]; tr.appendChild(td);
          t.appendChild(tr);
        });
        sec.appendChild(t);
      }
    });
  });
  body.setAttribute('data-charts-expected', String(expected));
  body.setAttribute('data-charts-done', drawn === expected ? 'true' : 'false');
})();
)JS";

constexpr const char* kStyle = R"CSS(
body { font: 14px/1.4 "DejaVu Sans", system-ui, sans-serif; margin: 24px; color: #111827; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
.meta { color: #4b5563; } .pass { color: #15803d; font-weight: bold; } .fail { color: #b91c1c; font-weight: bold; }
table { border-collapse: collapse; margin: 4px 0 12px; } th, td { padding: 3px 10px; border-bottom: 1px solid #e5e7eb; }
th { text-align: left; background: #f3f4f6; white-space: nowrap; } td { white-space: nowrap; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 12px; }
.card { border: 1px solid #e5e7eb; border-radius: 6px; padding: 8px 10px; background: #fff; }
.card h3 { font-size: 13px; margin: 0 0 4px; } .card .note { font-size: 11px; color: #6b7280; margin: 0; }
.box { position: relative; height: 220px; }
.action { margin: 12px 0 20px; } h3.action-title { font-size: 14px; margin: 8px 0; }
table.more th { font-weight: normal; color: #4b5563; background: none; } td.dim { color: #9ca3af; text-align: right; }
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
    out += "<h2>Over time</h2>\n<div class=\"charts\" id=\"charts-overview\"></div>\n";
    for (const auto& s : r.scenarios) {
        out += fmt::format("<h2>Scenario {}</h2>\n<p class=\"meta\">workflow {}, {} model, {} s: {} users started, peak {} "
                           "online, {} completed, {} stopped; {} tasks; exits: timeout_out {}, error_out {}</p>\n",
                           esc(s.name), esc(s.workflow), esc(s.model), num(s.duration_s, 3), s.spawned, s.peak_online,
                           s.completed, s.stopped, s.tasks, s.exit_timeout, s.exit_error);
        out += fmt::format("<table class=\"actions\" data-scenario=\"{}\"><tr><th>action</th><th>count</th><th>ok</th>"
                           "<th>errors</th><th>timeouts</th><th>actions/s</th><th>min</th><th>mean</th><th>p50</th><th>p90</th>"
                           "<th>p95</th><th>p99</th><th>p99.9</th><th>max</th><th>status</th><th>sent</th><th>received</th></tr>\n",
                           esc(s.name));
        for (const auto& a : s.actions) {
            const auto& l = a.latency;
            out += fmt::format("<tr data-action=\"{}\"><td>{}</td><td class=\"n\" data-key=\"count\">{}</td>"
                               "<td class=\"n\" data-key=\"ok\">{}</td><td class=\"n\" data-key=\"errors\">{}</td>"
                               "<td class=\"n\" data-key=\"timeouts\">{}</td><td class=\"n\">{}</td>",
                               esc(a.name), esc(a.name), a.count, a.ok, a.errors, a.timeouts,
                               num(s.duration_s > 0 ? static_cast<double>(a.count) / s.duration_s : 0, 1));
            out += latency_cell(a, l.min_ms) + latency_cell(a, l.mean_ms) + latency_cell(a, l.p50_ms, "p50") +
                   latency_cell(a, l.p90_ms) + latency_cell(a, l.p95_ms) + latency_cell(a, l.p99_ms, "p99") +
                   latency_cell(a, l.p999_ms) + latency_cell(a, l.max_ms);
            std::string classes;
            for (const auto& [cls, n] : a.status_classes) classes += fmt::format("{}{} {}", classes.empty() ? "" : ", ", cls, n);
            out += fmt::format("<td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n", classes.empty() ? "–" : classes,
                               human_bytes(a.bytes_sent), human_bytes(a.bytes_received));
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
        out += fmt::format("<div id=\"charts-scenario-{}\"></div>\n", &s - r.scenarios.data());
    }
    std::string json = to_json(chart_data(r));
    // Inside <script>, "</" would end the element: JSON allows "<\/" for it.
    for (size_t at = json.find("</"); at != std::string::npos; at = json.find("</", at + 3)) json.replace(at, 2, "<\\/");
    out += "<script type=\"application/json\" id=\"ntx-data\">" + json + "</script>\n";
    out += "<script>";
    out += chartjs();
    out += "</script>\n<script>";
    out += kScript;
    out += "</script>\n</body>\n</html>\n";
    return out;
}

void write_html(const Report& report, const std::filesystem::path& file) {
    files::write_atomic(file, to_html(report));
}

}  // namespace ntx::report
