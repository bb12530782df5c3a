#!/usr/bin/env bash
# Makes docs/images/live-line.png: runs examples/http-report against ntx-target on 127.0.0.1:20000 in a
# 100-column tmux pane, captures the live view mid-run (with its colours), renders it as HTML and
# takes a headless-chromium screenshot. Needs a release build, tmux and chromium.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
target_pid=""
sock="$work/tmux.sock"
cleanup() {
  tmux -S "$sock" kill-server 2>/dev/null || true
  if [ -n "$target_pid" ] && kill -0 "$target_pid" 2>/dev/null; then
    kill -TERM "$target_pid"; wait "$target_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
./build/bin/ntx-target --listen 127.0.0.1 --ports 20000 --ready-file "$work/ready" --max-seconds 120 >"$work/target.log" 2>&1 &
target_pid=$!
for _ in $(seq 1 500); do [ -f "$work/ready" ] && break; sleep 0.02; done
[ -f "$work/ready" ] || { echo "ntx-target did not start" >&2; exit 3; }
tmux -S "$sock" -f /dev/null new-session -d -x 100 -y 12 \
  "TERM=xterm-256color ./build/bin/ntx run examples/http-report --live ${LIVE:-line}; sleep 60"
for _ in $(seq 1 400); do  # until the run is about half-way (its plan is 15 s)
  tmux -S "$sock" capture-pane -p | grep -q " [4-6][0-9]% " && break
  sleep 0.05
done
tmux -S "$sock" capture-pane -p -e > "$work/pane.txt"
python3 - "$work/pane.txt" "$work/pane.html" <<'PY'
import html, re, sys
text = open(sys.argv[1]).read().rstrip("\n")
colours = {"31": "#f87171", "32": "#4ade80", "33": "#facc15", "36": "#22d3ee", "1": None, "2": None}
out, open_spans = [], 0
for part in re.split(r"(\x1b\[[0-9;]*m)", text):
    m = re.fullmatch(r"\x1b\[([0-9;]*)m", part)
    if not m:
        out.append(html.escape(part))
        continue
    for code in (m.group(1) or "0").split(";"):
        if code in ("0", "39", "22", ""):
            out.append("</span>" * open_spans)
            open_spans = 0
        elif code == "1":
            out.append('<span style="font-weight:bold">'); open_spans += 1
        elif code in colours and colours[code]:
            out.append(f'<span style="color:{colours[code]}">'); open_spans += 1
out.append("</span>" * open_spans)
open(sys.argv[2], "w").write('<!DOCTYPE html><meta charset="utf-8"><body style="margin:0;background:#111827">'
                             '<pre style="margin:0;padding:12px;color:#e5e7eb;font:14px/1.35 DejaVu Sans Mono,monospace">'
                             + "".join(out) + "</pre></body>")
PY
chromium --headless --no-sandbox --disable-gpu --user-data-dir="$work/profile" --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync --disable-extensions \
  --host-resolver-rules="MAP * ~NOTFOUND" --hide-scrollbars --window-size=900,220 \
  --screenshot="$PWD/docs/images/${OUT:-live-line.png}" "file://$work/pane.html" 2>/dev/null
echo "docs/images/${OUT:-live-line.png}"
