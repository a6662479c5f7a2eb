#!/usr/bin/env python3
"""The performance workloads of shared/design/performance.md, run side by side.

Runs flood, fleet, stubborn, orphans and crash against procmux and, when they are installed,
honcho and concurrently (and the bare `sh &` baseline), several times each, and prints one table
of medians. Usage:

    benches/compare.sh [--runs N] [--tools procmux,honcho,concurrently,sh] [--workloads flood,...]

Every process a run starts carries a unique environment token, so survivors are found in /proc
by that token (zombies ignored) and only those pids are killed afterwards; nothing is killed by
name.
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROCMUX = os.path.join(ROOT, "target", "release", "procmux")
CLK_TCK = os.sysconf("SC_CLK_TCK")
FLOOD_LINES = 200_000
FLOOD_PAD = "x" * 38  # makes each line about 60 bytes


# ---------------------------------------------------------------- /proc helpers


def proc_stat(pid):
    """(state, ppid, cpu seconds) of a pid, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rindex(")") + 2 :].split()
    return rest[0], int(rest[1]), (int(rest[11]) + int(rest[12])) / CLK_TCK


def cpu_seconds(pid):
    stat = proc_stat(pid)
    return stat[2] if stat else 0.0


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def tagged_pids(token, exclude=()):
    """Live (non-zombie) pids whose environment carries the token."""
    needle = f"PROCMUX_BENCH_TOKEN={token}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in exclude:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
        except OSError:
            continue
        stat = proc_stat(entry)
        if stat and stat[0] != "Z":
            found.append(int(entry))
    return found


def descendants_named(root, comm):
    """Count live descendants of `root` whose command name is `comm`."""
    children = {}
    names = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = proc_stat(entry)
        if not stat or stat[0] == "Z":
            continue
        children.setdefault(stat[1], []).append(int(entry))
        try:
            with open(f"/proc/{entry}/comm") as f:
                names[int(entry)] = f.read().strip()
        except OSError:
            pass
    count, stack = 0, [root]
    while stack:
        for child in children.get(stack.pop(), []):
            count += names.get(child) == comm
            stack.append(child)
    return count


def wait_until(predicate, timeout, step=0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


# ---------------------------------------------------------------- tools


class Tool:
    """How one process manager is started on a list of (name, command) processes."""

    def __init__(self, name, available, argv_for):
        self.name, self.available, self.argv_for = name, available, argv_for


def procmux_argv(workdir, procs, grace, watch):
    with open(os.path.join(workdir, "Procfile"), "w") as f:
        for name, cmd in procs:
            f.write(f"{name}: {cmd}\n")
    return [PROCMUX, "run", "-f", "Procfile", "-t", str(grace), "--color", "never",
            "--no-timestamps", *([] if watch else ["--no-reload"])]


def honcho_argv(workdir, procs, grace, watch):
    with open(os.path.join(workdir, "Procfile"), "w") as f:
        for name, cmd in procs:
            f.write(f"{name}: {cmd}\n")
    return ["honcho", "-f", "Procfile", "start", "--no-colour"]


def concurrently_argv(workdir, procs, grace, watch):
    names = ",".join(name for name, _ in procs)
    return ["concurrently", "--no-color", "--kill-timeout", str(int(grace * 1000)), "-n", names,
            *[cmd for _, cmd in procs]]


def sh_argv(workdir, procs, grace, watch):
    script = "".join(f"( {cmd} ) &\n" for _, cmd in procs) + "wait\n"
    return ["sh", "-c", script]


TOOLS = {
    "procmux": Tool("procmux", lambda: os.access(PROCMUX, os.X_OK), procmux_argv),
    "honcho": Tool("honcho", lambda: shutil.which("honcho") is not None, honcho_argv),
    "concurrently": Tool("concurrently", lambda: shutil.which("concurrently") is not None,
                         concurrently_argv),
    "sh": Tool("sh &", lambda: True, sh_argv),
}


class Run:
    """One manager process on one workload, with its output in a file."""

    def __init__(self, tool, procs, grace=5, watch=False):
        self.token = uuid.uuid4().hex
        self.workdir = tempfile.mkdtemp(prefix="procmux-bench-")
        self.out_path = os.path.join(self.workdir, "out.txt")
        argv = tool.argv_for(self.workdir, procs, grace, watch)
        env = dict(os.environ, PROCMUX_BENCH_TOKEN=self.token, NO_COLOR="1")
        self.out = open(self.out_path, "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, cwd=self.workdir, env=env, stdout=self.out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def interrupt(self):
        sent = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        return sent

    def wait_exit(self, timeout):
        try:
            self.proc.wait(timeout=timeout)
            return time.monotonic()
        except subprocess.TimeoutExpired:
            return None

    def finish(self):
        """Kill what is left (the manager and tagged survivors); return the survivor count."""
        exited = self.proc.poll() is not None
        if not exited:
            self.proc.kill()
            self.proc.wait()
        # Give killed groups a moment to vanish before counting what outlived the manager.
        wait_until(lambda: not tagged_pids(self.token), 0.5)
        survivors = tagged_pids(self.token)
        for pid in survivors:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.out.close()
        shutil.rmtree(self.workdir, ignore_errors=True)
        return len(survivors)


# ---------------------------------------------------------------- workloads


def flood(tool):
    names = ["A", "B", "C", "D"]
    procs = [(f"p{n}", f"seq -f 'proc-{n} line %06g {FLOOD_PAD}' 1 {FLOOD_LINES}; sleep 1000")
             for n in names]
    run = Run(tool, procs)
    expected = FLOOD_LINES * len(names)

    def count_lines():
        with open(run.out_path, "rb") as f:
            data = f.read()
        if tool.name == "sh &":
            # A bare shell has no line discipline: its interleaved writes can split the marker,
            # so count newlines (it prints nothing of its own).
            return data.count(b"\n")
        return data.count(b"proc-")

    done = wait_until(lambda: count_lines() >= expected, 60, step=0.01)
    wall = time.monotonic() - run.started
    cpu = cpu_seconds(run.proc.pid)
    run.interrupt()
    run.wait_exit(10)
    with open(run.out_path, "rb") as f:
        data = f.read()
    lost, garbled = check_flood(data, names)
    survivors = run.finish()
    return {"flood wall s": wall if done else float("inf"), "flood cpu s": cpu,
            "flood lost": lost, "flood garbled": garbled, "flood survivors": survivors}


def check_flood(data, names):
    """Lines lost and lines garbled (not intact, or out of per-process order)."""
    seen = {n: 0 for n in names}
    garbled = 0
    for raw in data.split(b"\n"):
        at = raw.find(b"proc-")
        if at < 0:
            continue
        body = raw[at:].decode("latin-1")
        parts = body.split(" ")
        ok = (len(parts) == 4 and parts[1] == "line" and parts[3] == FLOOD_PAD
              and parts[0][5:] in seen and parts[2].isdigit())
        if not ok:
            garbled += 1
            continue
        name, number = parts[0][5:], int(parts[2])
        if number != seen[name] + 1:
            garbled += 1
        seen[name] = max(seen[name], number)
    lost = sum(FLOOD_LINES - min(v, FLOOD_LINES) for v in seen.values())
    return lost, garbled


def fleet(tool):
    procs = [(f"s{i:03d}", "sleep 3600") for i in range(100)]
    run = Run(tool, procs)
    up = wait_until(lambda: descendants_named(run.proc.pid, "sleep") >= 100, 30)
    start = time.monotonic() - run.started
    time.sleep(0.5)
    rss = rss_mb(run.proc.pid)
    before = cpu_seconds(run.proc.pid)
    time.sleep(5)
    idle_ms = (cpu_seconds(run.proc.pid) - before) * 1000
    sent = run.interrupt()
    ended = run.wait_exit(10)
    survivors = run.finish()
    return {"fleet start s": start if up else float("inf"), "fleet rss MB": rss,
            "fleet idle cpu ms": idle_ms,
            "fleet stop s": (ended - sent) if ended else float("inf"),
            "fleet survivors": survivors}


def stop_when_up(tool, name, procs, sleepers, grace=5):
    """Start, wait until `sleepers` sleep processes run, SIGINT; time to exit and survivors."""
    run = Run(tool, procs, grace=grace)
    wait_until(lambda: descendants_named(run.proc.pid, "sleep") >= sleepers, 10)
    sent = run.interrupt()
    ended = run.wait_exit(15)
    survivors = run.finish()
    return {f"{name} stop s": (ended - sent) if ended else float("inf"),
            f"{name} survivors": survivors}


def stubborn(tool):
    cmd = "trap '' TERM INT; while true; do sleep 1; done"
    return stop_when_up(tool, "stubborn", [(f"stub{i}", cmd) for i in range(5)], 5, grace=2)


def orphans(tool):
    cmd = "sh -c 'sleep 1000 & sleep 1000 & wait'"
    return stop_when_up(tool, "orphans", [(f"orph{i}", cmd) for i in range(3)], 6)


def crash(tool):
    stamp = os.path.join(tempfile.gettempdir(), f"procmux-crash-{uuid.uuid4().hex}")
    procs = [("crash", f"sleep 0.5; date +%s.%N > {stamp}; exit 3"), ("long", "sleep 1000")]
    run = Run(tool, procs)
    ended = run.wait_exit(10)
    code = run.proc.returncode
    survivors = run.finish()
    after = float("inf")
    try:
        with open(stamp) as f:
            crashed_wall = float(f.read())
        if ended is not None:
            # Convert the wall-clock crash stamp to monotonic time via the current offset.
            offset = time.time() - time.monotonic()
            after = ended - (crashed_wall - offset)
        os.unlink(stamp)
    except (OSError, ValueError):
        pass
    return {"crash exit after s": after, "crash exit code": code if ended else "none",
            "crash survivors": survivors}


def reload(tool):
    """Median time from a manifest write to the changed process printing from its new command,
    over 20 edits, with an untouched neighbour whose pid must not change."""
    if tool.name != "procmux":
        return {}
    run = Run(tool, [("bystander", "sleep 1000"), ("changing", "echo version-0; exec sleep 1000")],
              watch=True)
    manifest = os.path.join(run.workdir, "Procfile")

    def output():
        with open(run.out_path, "rb") as f:
            return f.read()

    wait_until(lambda: b"version-0" in output(), 10)
    bystander = output().split(b"bystander started with pid ")[1].split(b"\n")[0]
    latencies = []
    for edit in range(1, 21):
        marker = f"version-{edit}".encode()
        with open(manifest, "w") as f:
            f.write(f"bystander: sleep 1000\nchanging: echo version-{edit}; exec sleep 1000\n")
        written = time.monotonic()
        if wait_until(lambda: marker in output(), 10, step=0.001):
            latencies.append(time.monotonic() - written)
    kept = output().count(b"bystander started with pid ") == 1
    run.interrupt()
    run.wait_exit(10)
    survivors = run.finish()
    return {"reload latency s": statistics.median(latencies) if latencies else float("inf"),
            "reload edits applied": len(latencies),
            "reload bystander kept pid": f"yes ({bystander.decode()})" if kept else "no",
            "reload survivors": survivors}


WORKLOADS = {"flood": flood, "fleet": fleet, "stubborn": stubborn, "orphans": orphans,
             "crash": crash, "reload": reload}


# ---------------------------------------------------------------- report


def median(values):
    numeric = [v for v in values if isinstance(v, (int, float))]
    if len(numeric) != len(values):
        return values[len(values) // 2]
    return statistics.median(numeric)


def fmt(value):
    if isinstance(value, float):
        if value == float("inf"):
            return "never"
        return f"{value:.3f}" if value < 100 else f"{value:.0f}"
    return str(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tools", default="procmux,honcho,concurrently,sh")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    args = parser.parse_args()

    tools = [TOOLS[t] for t in args.tools.split(",") if t in TOOLS]
    tools = [t for t in tools if t.available()]
    if not any(t.name == "procmux" for t in tools) and "procmux" in args.tools:
        print(f"note: {PROCMUX} not found; run `cargo build --release` first", file=sys.stderr)
    rows, columns = {}, []
    for workload in args.workloads.split(","):
        for tool in tools:
            if tool.name == "sh &" and workload in ("stubborn", "orphans", "crash"):
                continue  # a bare shell has no stop or exit policy to measure
            results = [WORKLOADS[workload](tool) for _ in range(args.runs)]
            if not results[0]:
                continue  # the workload does not apply to this tool
            for key in results[0]:
                if key not in rows:
                    rows[key] = {}
                rows[key][tool.name] = median([r[key] for r in results])
            print(f"  {workload} / {tool.name}: done", file=sys.stderr)
    columns = [t.name for t in tools]
    width = max(len(k) for k in rows) if rows else 10
    print(f"{'median of ' + str(args.runs):<{width}}  " + "  ".join(f"{c:>12}" for c in columns))
    for key, values in rows.items():
        print(f"{key:<{width}}  " + "  ".join(f"{fmt(values.get(c, '-')):>12}" for c in columns))


if __name__ == "__main__":
    main()
