"""report.html: self-contained (no network), loaded in headless Chromium (Debian's chromium): no
console error, every chart (Chart.js, inlined) rendered -- the run's, and per action its throughput,
latency percentiles, errors by kind, latency distribution and status codes --, a screenshot that is
not blank and shows the series' colours, and the numbers in its tables match report.json."""
import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from html.parser import HTMLParser

from harness import PROBE_COMPONENT, check, main, run_script

SCRIPT = f"""
{PROBE_COMPONENT}workflows:
  naps: {{steps: [{{ref: nap}}, {{ref: nap}}]}}
  oops: {{steps: [{{think: 40ms}}, {{ref: oops}}]}}
actions:
  nap: {{component: probe, call: sleep, with: {{ms: "25"}}}}
  oops: {{component: probe, call: fail}}
load:
  scenarios:
    - {{name: napping, workflow: naps, user-count: 6, spawn-rate: 4/s, task-duration: 3s, max-duration: 3s}}
    - {{name: "failing <b>", workflow: oops, user-count: 2, task-duration: 3s, max-duration: 3s}}
thresholds: ["nap.p99 < 2s", "errors.rate < 1%"]
"""


def chromium(args, tmp):
    profile = os.path.join(tmp, "chromium-profile")
    # No network: every host name resolves to nothing, and background services are off.
    base = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
            "--host-resolver-rules=MAP * ~NOTFOUND", "--hide-scrollbars", "--virtual-time-budget=5000"]
    p = subprocess.run(base + ["--enable-logging=stderr", "--v=0"] + args, capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, f"chromium exited {p.returncode}: {p.stderr[-2000:]}")
    # The page's console: any message logged by the page (Chromium prints them as CONSOLE lines).
    console = [line for line in p.stderr.splitlines() if ":CONSOLE(" in line or "Uncaught" in line]
    check(not console, f"console messages: {console}")
    return p.stdout


class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.body = {}
        self.canvases = []
        self.cells = []   # (table attrs, row attrs, cell attrs, text)
        self.table = self.row = self.cell = None
        self.text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        elif tag == "canvas":
            self.canvases.append(a)
        elif tag == "table":
            self.table = a
        elif tag == "tr":
            self.row = a
        elif tag == "td":
            self.cell, self.text = a, ""

    def handle_data(self, data):
        if self.cell is not None:
            self.text += data

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.cells.append((self.table, self.row, self.cell, self.text.strip()))
            self.cell = None


def png_pixels(path):
    """(width, height, rows of RGB tuples) of an 8-bit non-interlaced RGB/RGBA PNG."""
    with open(path, "rb") as f:
        data = f.read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", "a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            check(depth == 8 and ctype in (2, 6) and interlace == 0, f"PNG format {depth} {ctype} {interlace}")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = prev[i]
            ul = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + left) & 255
            elif ftype == 2:
                line[i] = (line[i] + up) & 255
            elif ftype == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif ftype == 4:
                p = left + up - ul
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else ul)) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(width)])
        prev = line
    return width, height, rows


def test_html_report_renders_and_matches_report_json():
    check(shutil.which("chromium") is not None, "Debian's chromium is installed (scripts/install-deps.sh)")
    with tempfile.TemporaryDirectory() as tmp:
        run, r = run_script(tmp, SCRIPT, "--quiet", expect_exit=1)  # errors.rate < 1% fails
        page = os.path.join(run.out, "report.html")
        with open(page) as f:
            html = f.read()
        # Self-contained: nothing to fetch (the SVG namespace URI in the script is a name, not a load).
        check(" src=" not in html and " href=" not in html and "@import" not in html and "url(" not in html, "no loads")
        check("failing &lt;b&gt;" in html and "failing <b>" not in html.split('id="ntx-data"')[0], "names are escaped")

        dom = Dom()
        dom.feed(chromium(["--dump-dom", f"file://{page}"], tmp))
        check("data-js-error" not in dom.body, f"a script error: {dom.body.get('data-js-error')}")
        # The run's 4 charts; nap: throughput, latency, distribution (no error, no status code); oops (never
        # ok): throughput and errors by kind. Each canvas says it was drawn, and the body counts them.
        names = [c.get("data-chart") for c in dom.canvases]
        check(len(names) == 4 + 3 + 2, f"charts: {names}")
        check(all(c.get("data-drawn") == "1" for c in dom.canvases), f"not every chart drawn: {dom.canvases}")
        check(dom.body.get("data-charts-drawn") == str(len(names)) == dom.body.get("data-charts-expected"), dom.body)
        for title in ("Latency of ok actions", "Latency distribution of ok actions", "Errors by kind (per s)",
                      "Throughput by outcome (per s)"):
            check(title in names, f"{title!r} among {names}")
        # Per action: its own intervals add up to its counts; p95 sits between p50 and p99.
        for s in r["scenarios"]:
            for a in s["actions"]:
                check(sum(iv["ok"] for iv in a["intervals"]) == a["ok"], f"{a['name']} ok over time")
                check(sum(iv["errors"] for iv in a["intervals"]) == a["errors"], f"{a['name']} errors over time")
                kinds = {}
                for iv in a["intervals"]:
                    for k, n in iv.get("errors_by_kind", {}).items():
                        kinds[k] = kinds.get(k, 0) + n
                check(kinds == a["errors_by_kind"], f"{a['name']} errors by kind over time {kinds}")
                check(all(iv["p50_ms"] <= iv["p95_ms"] <= iv["p99_ms"] for iv in a["intervals"]), a["intervals"])
                check(sum(n for _, n in a["latency_distribution"]) == a["ok"], f"{a['name']} distribution")
        vals = {}
        for table, row, cell, text in dom.cells:
            if "data-key" in cell:
                vals[(table.get("id") or table.get("data-scenario"), row.get("data-action"), cell["data-key"])] = text
        t = r["totals"]
        for key, jkey in (("actions", "actions"), ("ok", "ok"), ("errors", "errors"), ("timeouts", "timeouts")):
            check(vals[("totals", None, key)] == str(t[jkey]), f"totals {key}: {vals[('totals', None, key)]} vs {t[jkey]}")
        for s in r["scenarios"]:
            for a in s["actions"]:
                for key in ("count", "ok", "errors", "timeouts"):
                    check(vals[(s["name"], a["name"], key)] == str(a[key]), f"{s['name']}/{a['name']} {key}")
                if a["ok"]:
                    check(float(vals[(s["name"], a["name"], "p99")]) == a["latency_ms"]["p99"], f"{a['name']} p99")
                else:  # no ok action, no latency: a dash rather than 0.000
                    check(vals[(s["name"], a["name"], "p99")] == "–", f"{a['name']} p99 of no ok action")
        verdicts = [(row.get("data-passed"), text) for table, row, cell, text in dom.cells
                    if table.get("id") == "thresholds" and cell.get("class") in ("pass", "fail")]
        check(verdicts == [("true", "PASS"), ("false", "FAIL")], verdicts)
        check([t["passed"] for t in r["thresholds"]] == [True, False], r["thresholds"])
        # Why actions failed: a row per action and error kind, with its count and first error as in report.json.
        rows = {}
        for table, row, cell, text in dom.cells:
            if table.get("class") == "errors":
                rows.setdefault((table.get("data-scenario"), id(row)), []).append(text)
        expected = sorted((s["name"], a["name"], kind, str(n), a["error_examples"][kind]["reason"])
                          for s in r["scenarios"] for a in s["actions"] for kind, n in a["errors_by_kind"].items())
        check(len(expected) >= 1, "the failing scenario's errors have kinds")
        got = sorted((scen, cells[0], cells[1], cells[2], cells[3].split(": ", 1)[-1]) for (scen, _), cells in rows.items()
                     if len(cells) == 4 and cells[0] != "action")
        check(got == expected, f"errors table {got} vs report.json {expected}")
        # The charts' numbers come from report.json's intervals: they add up to the totals.
        for s in r["scenarios"]:
            ended = sum(iv["ok"] + iv["errors"] + iv["timeouts"] for iv in s["intervals"])
            counted = sum(a["ok"] + a["errors"] + a["timeouts"] for a in s["actions"])
            check(ended == counted, f"{s['name']}: intervals {ended} vs actions {counted}")

        shot = os.path.join(tmp, "shot.png")
        chromium([f"--screenshot={shot}", "--window-size=1280,1400", f"file://{page}"], tmp)
        width, height, rows = png_pixels(shot)
        pixels = [px for row in rows for px in row]
        white = sum(1 for px in pixels if px == (255, 255, 255))
        check(white < len(pixels) * 0.97, f"the screenshot is blank ({white} of {len(pixels)} white)")
        near = lambda px, c: all(abs(a - b) <= 40 for a, b in zip(px, c))  # noqa: E731
        blue = sum(1 for px in pixels if near(px, (0x25, 0x63, 0xEB)))
        red = sum(1 for px in pixels if near(px, (0xDC, 0x26, 0x26)))
        check(blue > 200 and red > 200, f"the series' colours are on screen (blue {blue}, red {red} pixels)")


if __name__ == "__main__":
    main([test_html_report_renders_and_matches_report_json])
