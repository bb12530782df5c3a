#!/usr/bin/env bash
# Installs everything ntx needs to build and test on Debian 12, non-interactively.
# Idempotent: packages already present are skipped, so a second run costs one dpkg query.
# --bench also installs the load generators benchmarks/compare/run.sh compares ntx with (wrk, h2load,
# Locust, and node/npm for Artillery, which run.sh installs from npm into benchmarks/compare/node_modules).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev libboost-program-options1.81-dev libboost-json1.81-dev
  libyaml-cpp-dev libspdlog-dev libfmt-dev catch2
  libcurl4-openssl-dev libssl-dev zlib1g-dev libbenchmark-dev
  # the http plugin: br response bodies (libbrotlidec; the unit tests encode with libbrotlienc)
  libbrotli-dev
  # the http plugin: HTTP/2 (h2c) on libnghttp2
  libnghttp2-dev
  # Prometheus remote write (--out-stream prometheus-rw=URL): protobuf messages (protoc, the lite
  # runtime) and snappy compression; libcurl (above) posts them
  libprotobuf-dev protobuf-compiler libsnappy-dev
  curl python3
  # tests/e2e/test_schema.py: docs/ntx-script.schema.json checked against the examples and docs/dsl.md
  python3-jsonschema python3-yaml
  # the DSL loader's fuzz target (libFuzzer): clang and its sanitizer runtimes
  clang libclang-rt-14-dev
  # wasm plugins: the loader's interpreter (libwabt.a, wat2wasm), and the toolchain examples/wasm-echo
  # builds with (clang --target=wasm32-wasi against wasi-libc)
  wabt lld wasi-libc libclang-rt-14-dev-wasm32
  # real servers the suite starts on 127.0.0.1 with throw-away configs
  nginx-light vsftpd openssl
  # report checks: promtool and a Prometheus server scraping --metrics-listen; headless chromium loading report.html
  prometheus chromium fonts-dejavu-core
  # tests/e2e/test_slurm.py: a single-node Slurm (slurmctld + slurmd, munge) runs a segmented test as a job array
  slurm-wlm munge
  # report.html inlines Chart.js 3.9.1 (MIT, /usr/share/javascript/chart.js/chart.min.js) at build time
  libjs-chart.js
  # the live progress line and the summary's colour, checked in a real terminal
  tmux
)
if [ "${1:-}" = "--bench" ]; then
  # wrk; h2load (nghttp2-client); Locust (FastHttpUser); GNU time for CPU-seconds and peak RSS;
  # valgrind for instruction counts where perf has no hardware counters; node/npm for Artillery.
  packages+=(wrk nghttp2-client python3-locust time valgrind)
  # A node that came with its own npm (not Debian's packages) is used as it is.
  command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
elif [ $# -gt 0 ]; then
  echo "usage: $0 [--bench]" >&2
  exit 2
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
# Server packages must not start their system services (nginx on :80, vsftpd on :21): the suite starts
# its own instances on loopback. policy-rc.d (Debian's mechanism for this) refuses every service start
# during the install and is removed afterwards.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
