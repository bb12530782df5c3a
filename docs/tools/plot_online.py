#!/usr/bin/env python3
"""Draws a scenario's online users over time from report.json (timeline.online, bucket_ms buckets: 100 ms, wider for long runs) as a
self-contained SVG, with the profile's target as a dashed line when its stages are given.

    plot_online.py REPORT.json SCENARIO OUT.svg [START:DURATION_S:TARGET,...]

e.g. plot_online.py out/report.json wave docs/images/online-ramp.svg 0:2:100,2:2:100,4:0.5:250,...
(the stages as start-users 0 then duration_s:target pairs). Standard library only."""
import json
import sys


def main():
    report_path, name, out = sys.argv[1:4]
    with open(report_path) as f:
        report = json.load(f)
    scen = next(s for s in report["scenarios"] if s["name"] == name)
    bucket_ms = scen["timeline"]["bucket_ms"]
    online = scen["timeline"]["online"]
    target = []
    if len(sys.argv) > 4:
        parts = sys.argv[4].split(",")
        start = float(parts[0])
        t, level = 0.0, start
        target.append((0.0, start))
        for p in parts[1:]:
            d, to = (float(x) for x in p.split(":"))
            t += d
            target.append((t, to))
            level = to
    w, h, pad = 720, 300, 48
    t_max = max(len(online) * bucket_ms / 1000.0, target[-1][0] if target else 0) or 1
    y_max = max(max(online or [1]), max((v for _, v in target), default=1)) * 1.1
    x = lambda t: pad + (w - 2 * pad) * t / t_max
    y = lambda v: h - pad - (h - 2 * pad) * v / y_max
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="black"/>',
           f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h - pad}" stroke="black"/>']
    for i in range(0, int(t_max) + 1):
        svg.append(f'<text x="{x(i):.1f}" y="{h - pad + 16}" text-anchor="middle">{i}s</text>')
    step = max(1, int(y_max / 5 / 50) * 50)
    for v in range(0, int(y_max) + 1, step):
        svg.append(f'<text x="{pad - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v}</text>')
        svg.append(f'<line x1="{pad}" y1="{y(v):.1f}" x2="{w - pad}" y2="{y(v):.1f}" stroke="#eee"/>')
    if target:
        pts = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in target)
        svg.append(f'<polyline points="{pts}" fill="none" stroke="#888" stroke-dasharray="6,4" stroke-width="1.5"/>')
    pts = " ".join(f"{x((i + 1) * bucket_ms / 1000.0):.1f},{y(v):.1f}" for i, v in enumerate(online))
    svg.append(f'<polyline points="{pts}" fill="none" stroke="#1f6feb" stroke-width="2"/>')
    svg.append(f'<text x="{w / 2}" y="{pad - 18}" text-anchor="middle" font-size="14">online users of scenario '
               f'"{name}" (blue, per 100 ms) and the profile\'s target (dashed)</text>')
    svg.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
