#!/usr/bin/env bash
# Builds procmux in release mode and runs the workloads of shared/design/performance.md against
# it and, when installed, honcho and concurrently; prints one table of medians, then a section
# per workload with every run's value and its target.
# Usage: benches/compare.sh [--runs N] [--tools procmux,honcho,concurrently,sh]
#                           [--workloads default|all|flood,fleet,...] [--list]
# Without --workloads the default set runs; `all` adds the opt-in ones (fleet1000).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
exec python3 benches/compare.py "$@"
