#!/usr/bin/env bash
# Builds procmux in release mode and runs the workloads of shared/design/performance.md against
# it and, when installed, honcho and concurrently; prints one table of medians.
# Usage: benches/compare.sh [--runs N] [--tools procmux,honcho,concurrently,sh] [--workloads ...]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
exec python3 benches/compare.py "$@"
