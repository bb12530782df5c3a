#!/usr/bin/env bash
# The whole test suite: installs what is needed, then
#   1. AddressSanitizer+UBSan and ThreadSanitizer builds run the unit and end-to-end tests (the
#      parsers, the loops, the scheduler and the plugins under real load on 127.0.0.1);
#   2. the release build runs everything, and its ctest summary closes the output.
# Set NTX_SKIP_SANITIZERS=1 to run only step 2 (quicker local iterations).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

# What each sanitizer build runs. AddressSanitizer+UBSan: everything (parsers, plugins, faults, the
# kit). ThreadSanitizer: what runs on several loops at once (load, timeouts, handlers, dynamic tasks,
# TLS and FTP under load); the single-threaded parsing and CLI tests gain nothing from it. The
# consumer tests build unsanitized projects against the library (installed, pkg-config, guest), the
# symbol checks are about what ships, and the fuzz target is built with clang's own AddressSanitizer:
# release build only, as is unit_alloc (allocation counts are a property of the release build: a
# sanitizer's allocator is not what ships), and e2e_soak_smoke (an RSS slope over 2 minutes: a
# sanitizer's quarantine and shadow memory are not what ships, and its slower loop makes too few tasks
# to see a per-task leak). e2e_open_files runs under ASan+UBSan (the vptr report it once stopped on is
# UBSan's own false positive with no free descriptor: vptr is recoverable in the UBSan build, see
# docs/reliability.md); it stays out of the TSan run until it has been tried there. TSan also leaves out
# e2e_blob_shared_memory, whose bound is on peak RSS: TSan's shadow of every byte the run touches
# multiplies it (5x the blob there; 1.0x in release, under 3x under ASan).
declare -A skip=(
  [asan]='unit_alloc|e2e_soak_smoke|installed_consumer|pkgconfig_consumer|guest_static_consumer|exports_.*|fuzz_dsl'
  [tsan]='unit_alloc|e2e_soak_smoke|e2e_open_files|e2e_blob_shared_memory|installed_consumer|pkgconfig_consumer|guest_static_consumer|exports_.*|fuzz_dsl|e2e_(validate|schema|plugins_cli|plugin_exports|conformance|control_flow|graph_workflows|http_faults|html_report|log_mask|file_blob|kubernetes_manifests|slurm|grafana|new_res_dir|one_file|target_login|tutorial|csv_header_and_hints|cli_overrides|files_contained|secrets_masked|checks|captures)$'
)
if [ "${NTX_SKIP_SANITIZERS:-0}" != 1 ]; then
  for preset in asan tsan; do
    ./scripts/build.sh "$preset"
    ctest --test-dir "build-$preset" --output-on-failure -E "${skip[$preset]}"
  done
fi

./scripts/build.sh release
ctest --test-dir build --output-on-failure
