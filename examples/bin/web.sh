#!/bin/sh
# A fake web server: prints a request log line about every second on $PORT.
# Stops cleanly on TERM or INT, like a real server would. It sleeps in the background and
# waits (its stderr silenced), so that the trap runs at once and sh does not report the
# sleep its process group's TERM killed as "Terminated"; the trap ends that sleep too (a
# background job of sh ignores INT, and procmux waits for every process a job started).
port="${PORT:-5000}"
trap 'echo "web: shutting down"; kill "$!" 2>/dev/null; exit 0' TERM INT
echo "web: listening on http://127.0.0.1:${port} (${APP_ENV:-development})"
n=0
paths="/ /health /users /users/42 /assets/app.css"
while :; do
  n=$((n + 1))
  set -- $paths
  shift $((n % 5))
  path="${1:-/}"
  echo "web: GET ${path} 200 $((n % 7 + 1))ms request_id=${PS}-${n}"
  sleep 1 &
  wait $! 2>/dev/null
done
