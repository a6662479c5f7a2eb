#!/bin/sh
# A fake background worker: picks up a job every two seconds from ${QUEUE}.
trap 'echo "worker: finishing current job and exiting"; kill "$!" 2>/dev/null; exit 0' TERM INT
queue="${QUEUE:-default}"
echo "worker: polling queue ${queue} every 2s"
job=0
while :; do
  job=$((job + 1))
  echo "worker: started job ${job} from ${queue}"
  sleep 2 &
  wait $! 2>/dev/null
  echo "worker: finished job ${job}"
done
