#!/bin/sh
# A fake scheduler: prints a tick every few seconds, with the time.
trap 'kill "$!" 2>/dev/null; exit 0' TERM INT
interval="${TICK_SECONDS:-3}"
while :; do
  echo "clock: tick at $(date +%H:%M:%S)"
  sleep "${interval}" &
  wait $! 2>/dev/null
done
