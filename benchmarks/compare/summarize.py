"""The tables of benchmarks/compare/run.sh: reads each run's own output from the work dir and prints
markdown. Figures per tool are medians over the rounds; ratios are taken round by round (ntx and
the peer ran minutes apart in the same round) and then their median is shown.

Usage (run.sh calls it): summarize.py WORK ROUNDS DURATION CONNECTIONS OPEN_RATE PARTS VERSIONS CLK_TCK
"""
import csv
import json
import os
import re
import statistics
import sys

from wrk_output import ms, parse as parse_wrk_report

work, rounds, duration, connections, open_rate, parts, versions, clk_tck = sys.argv[1:9]
rounds, duration, connections = int(rounds), float(duration), int(connections)
open_rate, clk_tck = float(open_rate), float(clk_tck)
parts = parts.split(",")


def path(name):
    return os.path.join(work, name)


def read_time(tag):
    """GNU time's last line: wall user sys maxrss_kib (a line before it may say the exit status)."""
    lines = [l for l in open(path(f"{tag}.time")).read().splitlines() if l.strip()]
    wall, user, sys_, rss = lines[-1].split()
    return float(wall), float(user) + float(sys_), int(rss) / 1024.0


def percentile(sorted_values, q):
    if not sorted_values:
        return 0.0
    k = max(0, min(len(sorted_values) - 1, int(round(q * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def parse_ntx(tag):
    report = json.load(open(path(f"{tag}.d/report.json")))
    sc = report["scenarios"][0]
    ok = sum(a["ok"] for a in sc["actions"])
    count = sum(a["count"] for a in sc["actions"])
    dur = sc["duration_s"] or report["totals"]["duration_s"]
    lat = sc["latency_ms"]
    out = {"requests": ok, "errors": count - ok, "duration": dur, "p50": lat["p50"], "p99": lat["p99"]}
    if "arrivals" in sc:
        out["arrivals"] = sc["arrivals"]
    return out


def parse_wrk(tag):
    requests, dur, p50, p99, errors = parse_wrk_report(open(path(f"{tag}.out")).read())
    return {"requests": requests - errors, "errors": errors, "duration": dur, "p50": p50, "p99": p99}


def parse_h2load(tag):
    text = open(path(f"{tag}.out")).read()
    m = re.search(r"finished in ([\d.]+)(us|ms|s|m),", text)
    dur = ms(m.group(1) + m.group(2)) / 1000.0
    m = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", text)
    ok, failed, errored, timeout = (int(g) for g in m.groups())
    m = re.search(r"status codes: (\d+) 2xx", text)
    ok2xx = int(m.group(1)) if m else ok
    # --log-file: one line per request: start time (us), status, duration (us).
    lat = []
    for line in open(path(f"{tag}.log")):
        f = line.split()
        if len(f) >= 3 and f[1].startswith("2"):
            lat.append(int(f[2]) / 1000.0)
    lat.sort()
    return {"requests": ok2xx, "errors": failed + errored + timeout + (ok - ok2xx), "duration": dur,
            "p50": percentile(lat, 0.50), "p99": percentile(lat, 0.99)}


def parse_locust(tag):
    with open(path(f"{tag}_stats.csv")) as f:
        rows = {r["Name"]: r for r in csv.DictReader(f)}
    agg = rows["Aggregated"]
    requests, failures = int(agg["Request Count"]), int(agg["Failure Count"])
    rps = float(agg["Requests/s"])
    return {"requests": requests - failures, "errors": failures, "duration": requests / rps if rps else 0.0,
            "p50": float(agg["50%"]), "p99": float(agg["99%"])}


def parse_artillery(tag):
    agg = json.load(open(path(f"{tag}.json")))["aggregate"]
    c = agg.get("counters", {})
    requests = c.get("http.requests", 0)
    ok = sum(v for k, v in c.items() if re.match(r"http\.codes\.[23]\d\d$", k))
    failed = requests - ok
    rt = agg.get("summaries", {}).get("http.response_time", {})
    dur = (agg.get("lastMetricAt", 0) - agg.get("firstMetricAt", 0)) / 1000.0
    return {"requests": ok, "errors": failed + c.get("vusers.failed", 0), "duration": dur,
            "p50": float(rt.get("p50", 0.0)), "p99": float(rt.get("p99", 0.0))}


PARSERS = {"ntx-get": parse_ntx, "ntx-flow": parse_ntx, "ntx-open": parse_ntx, "ntx-quiet": parse_ntx,
           "ntx-progress": parse_ntx, "ntx-watched": parse_ntx, "wrk": parse_wrk, "h2load": parse_h2load, "locust": parse_locust,
           "ntx-h2": parse_ntx, "h2load-h2": parse_h2load,
           "artillery": parse_artillery}
LABELS = {"ntx-get": "ntx", "ntx-flow": "ntx", "wrk": "wrk 4.1", "h2load": "h2load (--h1)",
          "locust": "Locust FastHttpUser", "artillery": "Artillery", "ntx-quiet": "ntx --quiet",
          "ntx-watched": "ntx + progress line + --metrics-listen", "ntx-h2": "ntx (h2c, max-streams 10)",
          "h2load-h2": "h2load -m 10 (h2c)"}


def result(tool, r):
    tag = f"{tool}-{r}"
    rc = int(open(path(f"{tag}.rc")).read().strip() or 0)
    x = PARSERS[tool](tag)
    wall, cpu, rss = read_time(tag)
    x.update(tool=tool, round=r, rc=rc, wall=wall, cpu=cpu, rss=rss)
    x["rps"] = x["requests"] / x["duration"] if x["duration"] else 0.0
    x["per_cpu"] = x["requests"] / cpu if cpu else 0.0
    x["server_cpu"] = int(open(path(f"{tag}.server")).read()) / clk_tck
    return x


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else 0.0


def group_table(title, tools, note):
    runs = {t: [result(t, r) for r in range(1, rounds + 1)] for t in tools}
    base = tools[0]
    print(f"\n### {title}\n")
    print(note + "\n")
    print("| tool | req/s | requests | errors | CPU-s (user+sys) | req per CPU-s | p50 ms | p99 ms | peak RSS MiB | nginx CPU-s | ntx ratio (req per CPU-s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for t in tools:
        rs = runs[t]
        if t == base:
            ratio = "-"
        else:
            per_round = [a["per_cpu"] / b["per_cpu"] for a, b in zip(runs[base], rs) if b["per_cpu"]]
            ratio = f"**{med(per_round):.2f}x** ({', '.join(f'{v:.2f}' for v in per_round)})"
        print(f"| {LABELS[t]} | {med(x['rps'] for x in rs):,.0f} | {med(x['requests'] for x in rs):,.0f} | "
              f"{max(x['errors'] for x in rs):,} | {med(x['cpu'] for x in rs):.2f} | {med(x['per_cpu'] for x in rs):,.0f} | "
              f"{med(x['p50'] for x in rs):.2f} | {med(x['p99'] for x in rs):.2f} | {med(x['rss'] for x in rs):.0f} | "
              f"{med(x['server_cpu'] for x in rs):.2f} | {ratio} |")
    bad = [f"{x['tool']} round {x['round']} exit {x['rc']}" for t in tools for x in runs[t] if x["rc"] not in (0,)]
    if bad:
        print("\nnon-zero exits: " + "; ".join(bad))
    return runs


print("## ntx beside wrk, h2load, Locust and Artillery\n")
print("```")
print(open(versions).read().rstrip())
print(f"rounds: {rounds}, {duration:.0f} s per run, {connections} connections/users; medians over rounds")
print("```")

if "get" in parts:
    group_table("Plain GET of a 1 KiB file, keep-alive",
                ["ntx-get", "wrk", "h2load"],
                f"{connections} connections, one generator thread on its own CPU, nginx (1 worker) on the other.")
if "flow" in parts:
    group_table("GET -> POST (the body just received) -> DELETE per user",
                ["ntx-flow", "locust", "artillery"],
                f"{connections} users looping the flow; requests are all three steps. CPU-seconds include each "
                "tool's start-up (Locust's and Artillery's interpreters: about a second each).")
if "h2" in parts:
    group_table("HTTP/2 GET of a 1 KiB file, 10 streams per connection",
                ["ntx-h2", "h2load-h2"],
                f"h2c with prior knowledge, {connections} connections with 10 streams in flight each: h2load "
                f"`-c {connections} -m 10`; ntx {connections * 10} users sharing a loop's connections "
                "(`http-version: \"2\"`, `max-streams: 10`). One generator thread on its own CPU.")
if "open" in parts:
    runs = [result("ntx-open", r) for r in range(1, rounds + 1)]
    print("\n### Open model: ntx at a fixed arrival rate\n")
    print(f"`arrival-rate: {open_rate:.0f}/s` for {duration:.0f} s, one GET per arrival (a new user, so a new "
          "connection each); latency from each arrival's intended start (coordinated omission corrected).\n")
    print("| round | planned | started | dropped | ok | errors | achieved req/s | of target | p50 ms | p99 ms | CPU-s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for x in runs:
        a = x.get("arrivals", {})
        achieved = x["requests"] / duration
        print(f"| {x['round']} | {a.get('planned', 0):,} | {a.get('started', 0):,} | {a.get('dropped', 0):,} | "
              f"{x['requests']:,} | {x['errors']:,} | {achieved:,.1f} | {100.0 * achieved / open_rate:.2f}% | "
              f"{x['p50']:.2f} | {x['p99']:.2f} | {x['cpu']:.2f} |")
if "watch" in parts:
    quiet = [result("ntx-quiet", r) for r in range(1, rounds + 1)]
    progress = [result("ntx-progress", r) for r in range(1, rounds + 1)]
    watched = [result("ntx-watched", r) for r in range(1, rounds + 1)]
    print("\n### Progress line and Prometheus endpoint on vs off\n")
    print("The plain GET run with `--quiet`, with its progress line (stdout to a file), and with the progress line "
          "and `--metrics-listen` scraped every second (curl on the server's CPU). Changes against `--quiet` "
          "in the same round.\n")
    print("| round | req/s quiet | progress | watched | req per CPU-s quiet | progress | change | watched | change | scrapes |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    d_rps_p, d_rps_w, d_cpu_p, d_cpu_w = [], [], [], []
    for q, p, w in zip(quiet, progress, watched):
        scrapes = open(path(f"ntx-watched-{w['round']}.scrapes")).read().split().count("ok")
        change = lambda a, b: (a / b - 1.0) * 100.0 if b else 0.0
        d_rps_p.append(change(p["rps"], q["rps"]))
        d_rps_w.append(change(w["rps"], q["rps"]))
        d_cpu_p.append(change(p["per_cpu"], q["per_cpu"]))
        d_cpu_w.append(change(w["per_cpu"], q["per_cpu"]))
        print(f"| {q['round']} | {q['rps']:,.0f} | {p['rps']:,.0f} | {w['rps']:,.0f} | {q['per_cpu']:,.0f} | "
              f"{p['per_cpu']:,.0f} | {d_cpu_p[-1]:+.1f}% | {w['per_cpu']:,.0f} | {d_cpu_w[-1]:+.1f}% | {scrapes} |")
    print(f"\nmedian change against --quiet: progress line: req/s {med(d_rps_p):+.1f}%, requests per CPU-second "
          f"{med(d_cpu_p):+.1f}%; progress line + metrics endpoint: req/s {med(d_rps_w):+.1f}%, requests per "
          f"CPU-second {med(d_cpu_w):+.1f}%")
