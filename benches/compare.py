#!/usr/bin/env python3
"""The performance workloads of shared/design/performance.md, run side by side.

Runs the workloads against procmux and, when they are installed, honcho and concurrently (and the
bare `sh &` baseline), several times each, and prints one table of medians, then one short
section per workload with every run's value and the target it is held to. Usage:

    benches/compare.sh [--runs N] [--tools procmux,honcho,concurrently,sh] [--workloads flood,...]

`--workloads` takes names (see `--list`), `default` (the set run without the flag) or `all`.
Every process a run starts carries a unique environment token, so survivors are found in /proc
by that token (zombies ignored) and only those pids are killed afterwards; nothing is killed by
name. Each procmux run gets its own XDG_RUNTIME_DIR (so its control socket lives in the run's
temporary folder).
"""

import argparse
import glob
import json
import os
import random
import select
import shutil
import signal
import socket
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
FLOOD_STALL = 3.0
# A manager that has not exited this long after its stop was due counts as never exiting.
NEVER_AFTER = 3.0
WATCHDOG_COMM = "procmux-wdog"


# ---------------------------------------------------------------- /proc helpers


def proc_stat(pid):
    """(state, ppid, cpu seconds, comm) of a pid, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    close = data.rindex(")")
    rest = data[close + 2 :].split()
    comm = data[data.index("(") + 1 : close]
    return rest[0], int(rest[1]), (int(rest[11]) + int(rest[12])) / CLK_TCK, comm


def cpu_seconds(pid):
    """CPU time of a process in clock ticks (exited threads included), as seconds."""
    stat = proc_stat(pid)
    return stat[2] if stat else 0.0


def cpu_ns(pid):
    """CPU time of a process's live threads in nanoseconds (/proc/PID/task/*/schedstat): exact,
    for idle measurements where a clock tick (10 ms) is far too coarse."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def idle_cpu_ms(pids, seconds=5.0):
    """CPU milliseconds each pid uses while the caller sleeps `seconds`."""
    before = [cpu_ns(p) for p in pids]
    time.sleep(seconds)
    return [(cpu_ns(p) - b) / 1e6 for p, b in zip(pids, before)]


def status_kb(pid, field, source="status"):
    try:
        with open(f"/proc/{pid}/{source}") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_mb(pid):
    kb = status_kb(pid, "VmRSS")
    return kb / 1024 if kb is not None else float("nan")


def pss_mb(pid):
    kb = status_kb(pid, "Pss", "smaps_rollup")
    return kb / 1024 if kb is not None else float("nan")


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


def process_table():
    """pid -> (ppid, comm) of every live (non-zombie) process, one read of /proc/PID/stat each."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = proc_stat(entry)
        if stat and stat[0] != "Z":
            table[int(entry)] = (stat[1], stat[3])
    return table


def descendants_named(root, comm):
    """Count live descendants of `root` whose command name is `comm`."""
    table = process_table()
    children = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    count, stack = 0, [root]
    while stack:
        for child in children.get(stack.pop(), []):
            count += table[child][1] == comm
            stack.append(child)
    return count


def child_named(parent, comm, timeout=3.0):
    """The pid of a live child of `parent` named `comm`, waiting up to `timeout`; or None."""
    found = []

    def look():
        found[:] = [pid for pid, (ppid, name) in process_table().items()
                    if ppid == parent and name == comm]
        return bool(found)

    wait_until(look, timeout, step=0.01)
    return found[0] if found else None


def wait_until(predicate, timeout, step=0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def toml_str(text):
    """A TOML basic string (JSON's string syntax is a subset of TOML's)."""
    return json.dumps(text)


def toml_command(argv):
    return "[" + ", ".join(toml_str(a) for a in argv) + "]"


# ---------------------------------------------------------------- tools


class Tool:
    """How one process manager is started on a list of (name, command) processes."""

    def __init__(self, key, name, available, argv_for):
        self.key, self.name, self.available, self.argv_for = key, name, available, argv_for


def procmux_argv(workdir, procs, grace, watch, manifest=None):
    if manifest is not None:
        with open(os.path.join(workdir, "procmux.toml"), "w") as f:
            f.write(manifest)
        path = "procmux.toml"
    else:
        with open(os.path.join(workdir, "Procfile"), "w") as f:
            for name, cmd in procs:
                f.write(f"{name}: {cmd}\n")
        path = "Procfile"
    return [PROCMUX, "run", "-f", path, "-t", str(grace), "--color", "never",
            "--no-timestamps", *([] if watch else ["--no-reload"])]


def honcho_argv(workdir, procs, grace, watch, manifest=None):
    with open(os.path.join(workdir, "Procfile"), "w") as f:
        for name, cmd in procs:
            f.write(f"{name}: {cmd}\n")
    return ["honcho", "-f", "Procfile", "start", "--no-colour"]


def concurrently_argv(workdir, procs, grace, watch, manifest=None):
    names = ",".join(name for name, _ in procs)
    return ["concurrently", "--no-color", "--kill-timeout", str(int(grace * 1000)), "-n", names,
            *[cmd for _, cmd in procs]]


def sh_argv(workdir, procs, grace, watch, manifest=None):
    script = "".join(f"( {cmd} ) &\n" for _, cmd in procs) + "wait\n"
    return ["sh", "-c", script]


TOOLS = {
    "procmux": Tool("procmux", "procmux", lambda: os.access(PROCMUX, os.X_OK), procmux_argv),
    "honcho": Tool("honcho", "honcho", lambda: shutil.which("honcho") is not None, honcho_argv),
    "concurrently": Tool("concurrently", "concurrently",
                         lambda: shutil.which("concurrently") is not None, concurrently_argv),
    "sh": Tool("sh", "sh &", lambda: True, sh_argv),
}


class Run:
    """One manager process on one workload, with its output in a file.

    `manifest` (procmux only) is the text of a procmux.toml to run instead of a Procfile of
    `procs`; `setup(workdir)` runs before the manager starts (files, fifos)."""

    def __init__(self, tool, procs=(), grace=5, watch=False, manifest=None, setup=None):
        self.tool = tool
        self.token = uuid.uuid4().hex
        self.workdir = tempfile.mkdtemp(prefix="procmux-bench-")
        self.runtime_dir = os.path.join(self.workdir, "rt")
        os.mkdir(self.runtime_dir, 0o700)
        self.out_path = os.path.join(self.workdir, "out.txt")
        if setup:
            setup(self.workdir)
        argv = tool.argv_for(self.workdir, procs, grace, watch, manifest)
        self.manifest = os.path.join(self.workdir, argv[3]) if tool.key == "procmux" else None
        self.env = dict(os.environ, PROCMUX_BENCH_TOKEN=self.token, NO_COLOR="1",
                        XDG_RUNTIME_DIR=self.runtime_dir)
        self.out = open(self.out_path, "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, cwd=self.workdir, env=self.env, stdout=self.out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._tail = b""
        self._read = 0

    def path(self, name):
        return os.path.join(self.workdir, name)

    def output(self):
        with open(self.out_path, "rb") as f:
            return f.read()

    def new_lines(self):
        """Complete output lines written since the last call."""
        with open(self.out_path, "rb") as f:
            f.seek(self._read)
            data = f.read()
        self._read += len(data)
        data = self._tail + data
        cut = data.rfind(b"\n") + 1
        self._tail = data[cut:]
        return data[:cut].split(b"\n")[:-1]

    def count_started(self):
        return self.output().count(b" started with pid ")

    def watchdog(self):
        return child_named(self.proc.pid, WATCHDOG_COMM)

    def procmux_cli(self, *args):
        """Runs `procmux ARGS -f MANIFEST` against this run; (seconds, completed process)."""
        began = time.monotonic()
        done = subprocess.run([PROCMUX, *args, "-f", self.manifest], cwd=self.workdir,
                              env=self.env, capture_output=True, stdin=subprocess.DEVNULL)
        return time.monotonic() - began, done

    def socket_path(self, timeout=5.0):
        found = []
        wait_until(lambda: found.extend(glob.glob(os.path.join(
            self.runtime_dir, "procmux", "*.sock"))) or found, timeout, step=0.01)
        return found[0] if found else None

    def interrupt(self):
        sent = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        return sent

    def wait_exit(self, timeout):
        """The monotonic time the manager exited, or None if it still runs after `timeout`.
        Waits on a pidfd, so the time is exact (Popen.wait(timeout) polls with sleeps that
        grow to 50 ms, which would blur stops of a few milliseconds)."""
        if self.proc.poll() is not None:
            return time.monotonic()
        try:
            fd = os.pidfd_open(self.proc.pid)
        except (AttributeError, OSError):
            fd = None
        if fd is None:
            try:
                self.proc.wait(timeout=timeout)
                return time.monotonic()
            except subprocess.TimeoutExpired:
                return None
        try:
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            ready = poller.poll(timeout * 1000)
            ended = time.monotonic()
        finally:
            os.close(fd)
        if not ready:
            return None
        self.proc.wait()
        return ended

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


class ControlClient:
    """A client of procmux's control socket: one JSON line out, one JSON line back."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b""

    def request(self, message):
        self.sock.sendall(message if isinstance(message, bytes) else
                          json.dumps(message).encode() + b"\n")
        while b"\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------- workloads: the original set


def flood(tool):
    names = ["A", "B", "C", "D"]
    procs = [(f"p{n}", f"seq -f 'proc-{n} line %06g {FLOOD_PAD}' 1 {FLOOD_LINES}; sleep 1000")
             for n in names]
    run = Run(tool, procs)
    expected = FLOOD_LINES * len(names)

    def count_lines():
        data = run.output()
        if tool.name == "sh &":
            # A bare shell has no line discipline: its interleaved writes can split the marker,
            # so count newlines (it prints nothing of its own).
            return data.count(b"\n")
        return data.count(b"proc-")

    progress = {"count": -1, "since": time.monotonic()}

    def finished_or_stalled():
        count = count_lines()
        if count >= expected:
            return True
        if count != progress["count"]:
            progress.update(count=count, since=time.monotonic())
        # A manager that lost lines never reaches the count: stop waiting once nothing has
        # come for FLOOD_STALL seconds (a slow one such as honcho keeps the output growing).
        return time.monotonic() - progress["since"] > FLOOD_STALL

    wait_until(finished_or_stalled, 60, step=0.01)
    done = count_lines() >= expected
    wall = time.monotonic() - run.started
    cpu = cpu_seconds(run.proc.pid)
    run.interrupt()
    run.wait_exit(10)
    lost, garbled = check_flood(run.output(), names)
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
    """100 x sleep: start, memory at rest, idle CPU, stop, survivors; for procmux also its
    watchdog's memory and idle CPU (the `watchdog` workload)."""
    procs = [(f"s{i:03d}", "sleep 3600") for i in range(100)]
    run = Run(tool, procs)
    up = wait_until(lambda: descendants_named(run.proc.pid, "sleep") >= 100, 30)
    start = time.monotonic() - run.started
    wdog = run.watchdog() if tool.key == "procmux" else None
    time.sleep(0.5)
    rss = rss_mb(run.proc.pid)
    result = {"fleet start s": start if up else float("inf"), "fleet rss MB": rss}
    if wdog:
        wdog_rss = rss_mb(wdog)
        anon = status_kb(wdog, "RssAnon")
        result.update({"fleet wdog rss MB": wdog_rss, "fleet rss sum MB": rss + wdog_rss,
                       "fleet wdog anon MB": anon / 1024 if anon is not None else float("nan"),
                       "fleet pss sum MB": pss_mb(run.proc.pid) + pss_mb(wdog)})
        idle, wdog_idle = idle_cpu_ms([run.proc.pid, wdog])
    else:
        if tool.key == "procmux":
            result["fleet wdog rss MB"] = "none"
        idle, = idle_cpu_ms([run.proc.pid])
        wdog_idle = None
    result["fleet idle cpu ms"] = idle
    if wdog_idle is not None:
        result["fleet wdog idle cpu ms"] = wdog_idle
    sent = run.interrupt()
    ended = run.wait_exit(10)
    result.update({"fleet stop s": (ended - sent) if ended else float("inf"),
                   "fleet survivors": run.finish()})
    return result


def stop_when_up(tool, name, procs, sleepers, grace=5):
    """Start, wait until `sleepers` sleep processes run, SIGINT; time to exit and survivors.
    A manager that has not exited NEVER_AFTER seconds after the grace never exits."""
    run = Run(tool, procs, grace=grace)
    wait_until(lambda: descendants_named(run.proc.pid, "sleep") >= sleepers, 10)
    time.sleep(0.1)  # let every shell reach its loop (its trap is set before the first sleep)
    sent = run.interrupt()
    ended = run.wait_exit(grace + NEVER_AFTER)
    survivors = run.finish()
    return {f"{name} stop s": (ended - sent) if ended else float("inf"),
            f"{name} survivors": survivors}


def stubborn(tool):
    cmd = "trap '' TERM INT; while true; do sleep 1; done"
    return stop_when_up(tool, "stubborn", [(f"stub{i}", cmd) for i in range(5)], 5, grace=2)


def wrapper(tool):
    """The stubborn processes as a Procfile line whose leader is an `sh -c` wrapper: the wrapper
    dies on the first signal, the trapping shell inside it does not; the grace must be kept."""
    cmd = """sh -c 'trap "" TERM INT; while :; do sleep 0.2; done'"""
    return stop_when_up(tool, "wrapper", [(f"stub{i}", cmd) for i in range(5)], 5, grace=2)


def orphans(tool):
    cmd = "sh -c 'sleep 1000 & sleep 1000 & wait'"
    return stop_when_up(tool, "orphans", [(f"orph{i}", cmd) for i in range(3)], 6)


def crash(tool):
    stamp = os.path.join(tempfile.gettempdir(), f"procmux-crash-{uuid.uuid4().hex}")
    procs = [("crash", f"sleep 0.5; date +%s.%N > {stamp}; exit 3"), ("long", "sleep 1000")]
    run = Run(tool, procs)
    ended = run.wait_exit(0.5 + 2 + NEVER_AFTER)
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
    run = Run(tool, [("bystander", "sleep 1000"), ("changing", "echo version-0; exec sleep 1000")],
              watch=True)
    manifest = os.path.join(run.workdir, "Procfile")
    wait_until(lambda: b"version-0" in run.output(), 10)
    bystander = run.output().split(b"bystander started with pid ")[1].split(b"\n")[0]
    latencies = []
    for edit in range(1, 21):
        marker = f"version-{edit}".encode()
        with open(manifest, "w") as f:
            f.write(f"bystander: sleep 1000\nchanging: echo version-{edit}; exec sleep 1000\n")
        written = time.monotonic()
        if wait_until(lambda: marker in run.output(), 10, step=0.001):
            latencies.append(time.monotonic() - written)
    kept = run.output().count(b"bystander started with pid ") == 1
    run.interrupt()
    run.wait_exit(10)
    survivors = run.finish()
    return {"reload latency s": statistics.median(latencies) if latencies else float("inf"),
            "reload edits applied": len(latencies),
            "reload bystander kept pid": f"yes ({bystander.decode()})" if kept else "no",
            "reload survivors": survivors}


# ---------------------------------------------------------------- workloads: fleet of 1000


def fleet1000(tool):
    """1000 x sleep: start (until all 1000 run), manager CPU per spawn, memory per instance (the
    slope from a 100 fleet in the same run), stop, survivors; then an interrupted start."""
    procs = [(f"s{i:04d}", "sleep 3600") for i in range(1000)]
    result = {}
    if tool.key == "procmux":
        small = Run(tool, procs[:100])
        wait_until(lambda: descendants_named(small.proc.pid, "sleep") >= 100, 30)
        time.sleep(0.5)
        rss_100 = rss_mb(small.proc.pid)
        small.interrupt()
        small.wait_exit(10)
        small.finish()
    run = Run(tool, procs)
    # Each scan of /proc reads 1000+ files: poll less often than for 100, not to compete with
    # the spawns for the two cores.
    up = wait_until(lambda: descendants_named(run.proc.pid, "sleep") >= 1000, 60, step=0.05)
    result["fleet1000 start s"] = (time.monotonic() - run.started) if up else float("inf")
    if tool.key == "procmux":
        result["fleet1000 cpu per spawn ms"] = cpu_seconds(run.proc.pid)  # per 1000 = ms each
        wdog = run.watchdog()
        time.sleep(1.0)
        rss = rss_mb(run.proc.pid)
        result["fleet1000 rss MB"] = rss
        result["fleet1000 wdog rss MB"] = rss_mb(wdog) if wdog else "none"
        result["fleet1000 rss per instance KB"] = rss * 1024 / 1000
        result["fleet1000 rss slope KB"] = (rss - rss_100) * 1024 / 900
        sent = run.interrupt()
        ended = run.wait_exit(30)
        result["fleet1000 stop s"] = (ended - sent) if ended else float("inf")
    survivors = run.finish()
    if tool.key != "procmux":
        return result
    result["fleet1000 survivors"] = survivors

    # Interrupted start: SIGINT 100 ms after launch, while the 1000 are being spawned.
    run = Run(tool, procs)
    time.sleep(max(0.0, run.started + 0.1 - time.monotonic()))
    sent = run.interrupt()
    at_signal = run.count_started()
    ended = run.wait_exit(30)
    result["fleet1000 interrupted: started by SIGINT"] = at_signal
    result["fleet1000 interrupted: started after"] = run.count_started() - at_signal
    result["fleet1000 interrupted: stop s"] = (ended - sent) if ended else float("inf")
    result["fleet1000 interrupted: exit code"] = run.proc.returncode if ended else "none"
    result["fleet1000 interrupted: survivors"] = run.finish()
    return result


# ---------------------------------------------------------------- workloads: dependencies


def chain_manifest(depends):
    parts = []
    for i in range(20):
        parts.append(f"[processes.p{i}]\ncommand = \"sleep 3600\"\n")
        if depends and i:
            parts.append(f"depends_on = [\"p{i - 1}\"]\n")
    return "".join(parts)


def deps(tool):
    """20 x sleep as a chain p0 <- p1 <- ... <- p19 (depends_on, no ready check) against the same
    20 without dependencies: start (until all 20 run) and stop (SIGINT to exit)."""
    result = {}
    for label, depends in (("chain", True), ("flat", False)):
        run = Run(tool, manifest=chain_manifest(depends))
        up = wait_until(lambda: descendants_named(run.proc.pid, "sleep") >= 20, 30, step=0.002)
        start = time.monotonic() - run.started
        time.sleep(0.3)
        sent = run.interrupt()
        ended = run.wait_exit(30)
        result[f"deps {label} start s"] = start if up else float("inf")
        result[f"deps {label} stop s"] = (ended - sent) if ended else float("inf")
        result[f"deps {label} survivors"] = run.finish()
    return result


LISTENER = """\
import socket, sys, time
stamp, port, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
time.sleep(delay)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(64)
bound = time.time()
with open(stamp + ".tmp", "w") as f:
    f.write(repr(bound))
import os
os.rename(stamp + ".tmp", stamp)
while True:
    c, _ = s.accept()
    c.close()
"""

READY_SAMPLES = 20


def ready(tool):
    """A dependency whose ready check is `tcp = PORT, interval = 250ms` and that binds its port
    0.5 s (+ a random 0-250 ms, so that the samples cover every phase of the check) after it
    starts, and a dependent that stamps the time it starts (bash's $EPOCHREALTIME, no fork):
    from the bind to the dependent's own stamp, and to procmux's `app started with pid` line
    (the output file polled every 2 ms), over 20 fresh runs."""
    latencies, to_line, survivors = [], [], 0
    for _ in range(READY_SAMPLES):
        port = free_port()
        delay = 0.5 + random.uniform(0, 0.25)
        listener = [sys.executable, "-c", LISTENER, "db.t", str(port), str(delay)]
        dependent = ["bash", "-c", "echo $EPOCHREALTIME > app.t; exec sleep 3600"]
        manifest = ("[processes.db]\n"
                    f"command = {toml_command(listener)}\n"
                    f"ready = {{ tcp = {port}, interval = \"250ms\" }}\n"
                    "[processes.app]\n"
                    f"command = {toml_command(dependent)}\n"
                    "depends_on = [\"db\"]\n")
        run = Run(tool, manifest=manifest)
        stamps = [run.path("db.t"), run.path("app.t")]
        line_at = []

        def done():
            if not line_at and b"app started with pid" in run.output():
                line_at.append(time.time())
            return line_at and all(os.path.exists(p) and os.path.getsize(p) > 0
                                   for p in stamps)

        if wait_until(done, 10, step=0.002):
            time.sleep(0.01)
            with open(stamps[0]) as f:
                bound = float(f.read())
            with open(stamps[1]) as f:
                began = float(f.read())
            latencies.append(began - bound)
            to_line.append(line_at[0] - bound)
        run.interrupt()
        run.wait_exit(10)
        survivors += run.finish()
    if not latencies:
        return {"ready latency s": float("inf"), "ready samples": 0, "ready survivors": survivors}
    ordered = sorted(latencies)
    return {"ready latency s": statistics.median(latencies),
            "ready latency p90 s": ordered[int(0.9 * (len(ordered) - 1))],
            "ready latency max s": ordered[-1],
            "ready latency min s": ordered[0],
            "ready to started line s": statistics.median(to_line),
            "ready to started line max s": max(to_line),
            "ready samples": len(latencies), "ready survivors": survivors,
            "_ready latencies ms": " ".join(f"{v * 1000:.0f}" for v in ordered)}


# ---------------------------------------------------------------- workloads: control socket


RING_INSTANCES = 20
RING_LINES_EACH = 2000
RING_ROUNDS = 3


def control(tool):
    """A stack of three `exec sleep`: `procmux status` (the binary, and the request alone on the
    socket), `procmux restart web`, idle CPU with a client connected; then the log ring's memory
    (see ring_memory)."""
    procs = [("web", "exec sleep 3600"), ("worker", "exec sleep 3600"),
             ("clock", "exec sleep 3600")]
    run = Run(tool, procs)
    result = {}
    wait_until(lambda: descendants_named(run.proc.pid, "sleep") >= 3, 10)
    path = run.socket_path()
    if path is None:
        result["control socket"] = "none"
        run.interrupt()
        run.wait_exit(10)
        run.finish()
        return result
    # `procmux status`: the binary, start to exit.
    binary, failures = [], 0
    for _ in range(100):
        took, done = run.procmux_cli("status")
        binary.append(took)
        failures += done.returncode != 0 or b"web" not in done.stdout
    result["control status binary ms"] = statistics.median(binary) * 1000
    # The request alone: connect, status, reply, close; and on one kept connection.
    fresh, kept = [], []
    for _ in range(100):
        began = time.perf_counter()
        client = ControlClient(path)
        reply = client.request(b'{"v":1,"type":"status"}\n')
        fresh.append(time.perf_counter() - began)
        client.close()
        failures += b'"type":"status"' not in reply
    client = ControlClient(path)
    for _ in range(100):
        began = time.perf_counter()
        reply = client.request(b'{"v":1,"type":"status"}\n')
        kept.append(time.perf_counter() - began)
        failures += b'"type":"status"' not in reply
    result["control status socket ms"] = statistics.median(fresh) * 1000
    result["control status kept conn ms"] = statistics.median(kept) * 1000
    # `procmux restart web` of an `exec sleep`: until the command returns, with a new pid.
    restarts, pids = [], set()
    for _ in range(20):
        took, done = run.procmux_cli("restart", "web")
        restarts.append(took)
        message = done.stdout.decode(errors="replace")
        failures += done.returncode != 0 or "restarted" not in message
        pids.add(message.rsplit("pid ", 1)[-1].strip(") \n"))
    result["control restart ms"] = statistics.median(restarts) * 1000
    result["control restart new pids"] = len(pids)
    result["control failures"] = failures
    # Idle with the socket open and one client connected (after a hello).
    client.request(b'{"v":1,"type":"hello"}\n')
    wdog = run.watchdog()
    pids_measured = [run.proc.pid] + ([wdog] if wdog else [])
    idle = idle_cpu_ms(pids_measured)
    result["control idle cpu ms"] = idle[0]
    result["control wdog idle cpu ms"] = idle[1] if wdog else "none"
    client.close()
    run.interrupt()
    run.wait_exit(10)
    result["control survivors"] = run.finish()
    result.update(ring_memory(tool))
    return result


def ring_memory(tool):
    """20 instances each wait on their own fifo, then print 2,000 lines of 100 bytes, three
    times. procmux's RSS before, after every instance's first 2,000 lines (each ring then holds
    its bound of 1,000 lines), and after the second and third rounds (the bound must hold:
    growth should stop)."""
    names = [f"r{i:02d}" for i in range(RING_INSTANCES)]

    def setup(workdir):
        for name in names:
            os.mkfifo(os.path.join(workdir, f"go.{name}"))

    cmd = (f"for round in {' '.join(str(r + 1) for r in range(RING_ROUNDS))}; do "
           "read _ < go.{name}; "
           f"seq -f 'ring-line %090g' 1 {RING_LINES_EACH}; done; exec sleep 3600")
    run = Run(tool, [(name, cmd.format(name=name)) for name in names], setup=setup)
    wait_until(lambda: run.count_started() >= len(names), 10)
    time.sleep(0.5)
    lines = [0]

    def count():
        lines[0] += sum(b"| ring-line " in line for line in run.new_lines())
        return lines[0]

    def release(name):
        # Opening a fifo for writing fails (ENXIO) until its reader has it open.
        path = run.path(f"go.{name}")
        for _ in range(1000):
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
                return
            except OSError:
                time.sleep(0.005)

    base = rss_mb(run.proc.pid)
    rounds = []
    for round_ in range(RING_ROUNDS):
        for i, name in enumerate(names):
            release(name)
            want = RING_LINES_EACH * (round_ * len(names) + i + 1)
            wait_until(lambda: count() >= want, 20, step=0.002)
        time.sleep(0.3)
        rounds.append(rss_mb(run.proc.pid))
        # The next round's shells must be back in `read` before the fifos are opened again.
        time.sleep(0.2)
    path = run.socket_path()
    kept = "none"
    if path:
        client = ControlClient(path)
        reply = json.loads(client.request({"v": 1, "type": "logs", "names": [names[0]],
                                           "lines": 5000}))
        client.close()
        kept = len(reply.get("lines", []))
    run.interrupt()
    run.wait_exit(10)
    survivors = run.finish()
    return {"ring rss before MB": base,
            "ring growth per instance KB": (rounds[0] - base) * 1024 / len(names),
            "ring round-2 growth per instance KB": (rounds[1] - rounds[0]) * 1024 / len(names),
            "ring round-3 growth per instance KB": (rounds[2] - rounds[1]) * 1024 / len(names),
            "ring lines kept": kept, "ring lines seen": lines[0], "ring survivors": survivors}


# ---------------------------------------------------------------- workloads: watch


WATCH_SAMPLES = 20
# LoopGuard: more than 10 watch restarts within 10 s pause a process; keep under it.
WATCH_SPACING = 1.1
WRITE_FLOOD = 100_000

WATCHED = """\
echo "start $EPOCHREALTIME $$" >> stamps.txt
trap 'echo "term $EPOCHREALTIME $$" >> stamps.txt; exit 0' TERM
sleep 3600 &
wait
"""


def log_flood(pid, path):
    """WRITE_FLOOD single-line appends to `path`, one write(2) each: (seconds they took,
    procmux's CPU milliseconds from the first to 0.5 s after the last)."""
    line = b"2024-01-01T00:00:00 INFO request handled in 3 ms path=/users\n"
    before = cpu_ns(pid)
    began = time.monotonic()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    for _ in range(WRITE_FLOOD):
        os.write(fd, line)
    os.close(fd)
    seconds = time.monotonic() - began
    time.sleep(0.5)
    return seconds, (cpu_ns(pid) - before) / 1e6


def watch(tool):
    """A process with `watch = ["src/**"]` (a tree of 200 files) and a TERM trap, in bash so
    that both stamps are taken without a fork: from a write to src/main.rs to the stop signal
    reaching it and to the new instance running, over 20 writes 1.1 s apart; idle CPU with the
    watches in place; then 100,000 single-line writes to a log beside the manifest and the CPU
    they cost procmux (and whether they restarted anything), against the same writes to a log in
    a folder of its own."""

    def setup(workdir):
        for d in range(10):
            os.makedirs(os.path.join(workdir, "src", f"mod{d}"))
            for n in range(20):
                with open(os.path.join(workdir, "src", f"mod{d}", f"f{n}.rs"), "w") as f:
                    f.write("// file\n")
        with open(os.path.join(workdir, "src", "main.rs"), "w") as f:
            f.write("fn main() {}\n")
        os.mkdir(os.path.join(workdir, "logs"))

    manifest = ("[processes.app]\n"
                f"command = {toml_command(['bash', '-c', WATCHED])}\n"
                "watch = [\"src/**\"]\n")
    run = Run(tool, manifest=manifest, watch=True, setup=setup)
    stamps_path = run.path("stamps.txt")

    def stamps():
        try:
            with open(stamps_path) as f:
                return [line.split() for line in f if line.endswith("\n")]
        except OSError:
            return []

    wait_until(lambda: len(stamps()) >= 1, 10)
    time.sleep(0.5)
    to_term, to_start, missed = [], [], 0
    target = run.path(os.path.join("src", "main.rs"))
    for i in range(WATCH_SAMPLES):
        seen = len(stamps())
        old_pid = stamps()[-1][2]
        with open(target, "w") as f:
            f.write(f"fn main() {{ /* edit {i} */ }}\n")
        written = time.time()
        if wait_until(lambda: any(s[0] == "start" and s[2] != old_pid for s in stamps()[seen:]),
                      5, step=0.002):
            new = stamps()[seen:]
            term = [float(s[1]) for s in new if s[0] == "term" and s[2] == old_pid]
            start = [float(s[1]) for s in new if s[0] == "start"]
            if term:
                to_term.append(term[0] - written)
            to_start.append(start[0] - written)
        else:
            missed += 1
        time.sleep(max(0.0, WATCH_SPACING - (time.time() - written)))
    result = {
        "watch to signal ms": statistics.median(to_term) * 1000 if to_term else float("inf"),
        "watch to signal max ms": max(to_term) * 1000 if to_term else float("inf"),
        "watch to new pid ms": statistics.median(to_start) * 1000 if to_start else float("inf"),
        "watch samples": len(to_start), "watch missed": missed}
    # Idle with the watches in place.
    wdog = run.watchdog()
    idle = idle_cpu_ms([run.proc.pid] + ([wdog] if wdog else []))
    result["watch idle cpu ms"] = idle[0]
    result["watch wdog idle cpu ms"] = idle[1] if wdog else "none"
    # Floods of single-line writes: to a log beside the manifest (the folder of the file the
    # reload watches), then to one in a folder of its own (watched by nothing).
    restarts_before = len(stamps())
    for label, name in (("", "app.log"), (" (logs/)", os.path.join("logs", "app.log"))):
        seconds, cpu_ms = log_flood(run.proc.pid, run.path(name))
        result[f"watch log flood{label} s"] = seconds
        result[f"watch log flood{label} cpu ms"] = cpu_ms
    result["watch log flood restarts"] = len(stamps()) - restarts_before
    run.interrupt()
    run.wait_exit(10)
    result["watch survivors"] = run.finish()
    return result


# ---------------------------------------------------------------- the registry


class Workload:
    """A named workload: which tools it runs for, whether it is in the default set, whether it
    runs --runs times (else once: it takes many samples itself), its section's title and the
    targets (procmux's median checked against each)."""

    def __init__(self, name, func, title, tools=None, default=True, repeat=True, targets=(),
                 ratios=()):
        self.name, self.func, self.title = name, func, title
        self.tools = tools
        self.default, self.repeat = default, repeat
        self.targets = dict(targets)
        self.ratios = ratios


PEERS = ("procmux", "honcho", "concurrently")


def at_most(limit):
    return lambda v: isinstance(v, (int, float)) and v <= limit


def between(low, high):
    return lambda v: isinstance(v, (int, float)) and low <= v <= high


def equals(value):
    return lambda v: v == value


WORKLOADS = {w.name: w for w in [
    Workload("flood", flood, "4 x 200,000 lines of ~60 bytes to a file",
             targets={"flood lost": (equals(0), "0"), "flood garbled": (equals(0), "0"),
                      "flood cpu s": (at_most(0.5), "<= 0.5 s")},
             ratios=("flood wall s",)),
    Workload("fleet", fleet, "100 x `sleep 3600` (with procmux's watchdog: memory and idle CPU)",
             targets={"fleet start s x sh": (at_most(1.5), "<= 1.5x bare sh (issue 14)"),
                      "fleet rss sum MB": (at_most(10), "procmux + watchdog < 10 MB"),
                      "fleet idle cpu ms": (at_most(0), "0 ms"),
                      "fleet wdog idle cpu ms": (at_most(0), "0 ms"),
                      "fleet stop s": (at_most(0.2), "<= 0.2 s"),
                      "fleet survivors": (equals(0), "0")},
             ratios=("fleet start s",)),
    Workload("watchdog", fleet, "the fleet of 100, procmux only: procmux's and its watchdog's "
             "memory and idle CPU (the same run as `fleet`)", tools=("procmux",), default=False,
             targets={"fleet rss sum MB": (at_most(10), "procmux + watchdog < 10 MB"),
                      "fleet idle cpu ms": (at_most(0), "0 ms"),
                      "fleet wdog idle cpu ms": (at_most(0), "0 ms")}),
    Workload("stubborn", stubborn, "5 processes that trap TERM and INT, grace 2 s", tools=PEERS,
             targets={"stubborn stop s": (between(2.0, 2.2), "2.0-2.2 s"),
                      "stubborn survivors": (equals(0), "0")}),
    Workload("wrapper", wrapper,
             "stubborn behind a wrapper: `sh -c 'trap \"\" TERM INT; while :; do sleep 0.2; "
             "done'` x 5 as Procfile lines, `-t 2`", tools=PEERS,
             targets={"wrapper stop s": (between(2.0, 2.2), "at the grace: 2.0-2.2 s"),
                      "wrapper survivors": (equals(0), "0")}),
    Workload("orphans", orphans, "3 x `sh -c 'sleep 1000 & sleep 1000 & wait'`", tools=PEERS,
             targets={"orphans stop s": (at_most(0.2), "<= 0.2 s"),
                      "orphans survivors": (equals(0), "0")}),
    Workload("crash", crash, "`sleep 0.5; exit 3` beside a sleeper", tools=PEERS,
             targets={"crash exit after s": (at_most(0.1), "<= 0.1 s"),
                      "crash exit code": (equals(3), "3"),
                      "crash survivors": (equals(0), "0")}),
    Workload("reload", reload, "20 manifest edits: write to the new command's output",
             tools=("procmux",),
             targets={"reload latency s": (at_most(0.3), "<= 0.3 s")}),
    Workload("deps", deps, "20 x sleep as a depends_on chain vs the same 20 without",
             tools=("procmux",),
             targets={"deps chain survivors": (equals(0), "0"),
                      "deps flat survivors": (equals(0), "0")}),
    Workload("ready", ready, "readiness latency: tcp check every 250 ms, listener binds after "
             "0.5-0.75 s; bind to the dependent's start, 20 fresh runs", tools=("procmux",),
             repeat=False,
             targets={"ready latency max s": (at_most(0.27), "<= interval + 20 ms = 0.27 s"),
                      "ready survivors": (equals(0), "0")}),
    Workload("control", control, "the control socket (3 x `exec sleep`) and the log ring "
             "(20 instances x 2 x 2,000 lines of 100 bytes)", tools=("procmux",), repeat=False,
             targets={"control idle cpu ms": (at_most(0), "0 ms"),
                      "control wdog idle cpu ms": (at_most(0), "0 ms"),
                      "control failures": (equals(0), "0"),
                      "ring lines kept": (equals(1000), "1000 (RING_LINES)"),
                      "ring growth per instance KB": (at_most(1024), "<= 1 MiB (RING_BYTES)"),
                      "control survivors": (equals(0), "0"),
                      "ring survivors": (equals(0), "0")}),
    Workload("watch", watch, "`watch = [\"src/**\"]` (200 files), a bash TERM trap: 20 writes "
             "to src/main.rs 1.1 s apart; idle; 100,000 writes to ./app.log", tools=("procmux",),
             repeat=False,
             targets={"watch to signal ms": (at_most(150), "<= debounce 100 + 50 ms"),
                      "watch idle cpu ms": (at_most(0), "0 ms"),
                      "watch wdog idle cpu ms": (at_most(0), "0 ms"),
                      "watch log flood restarts": (equals(0), "0"),
                      "watch missed": (equals(0), "0"),
                      "watch survivors": (equals(0), "0")}),
    Workload("fleet1000", fleet1000, "1000 x `sleep 3600` (procmux and bare sh in the same run), "
             "then SIGINT 100 ms into a start of 1000", tools=("procmux", "sh"), default=False,
             # The targets of issue 14 ("start a fleet at the speed of fork").
             targets={"fleet1000 start s x sh": (at_most(1.5), "<= 1.5x bare sh"),
                      "fleet1000 cpu per spawn ms": (at_most(0.2), "<= 0.2 ms"),
                      "fleet1000 rss slope KB": (at_most(15), "<= 15 KB"),
                      "fleet1000 survivors": (equals(0), "0"),
                      "fleet1000 interrupted: stop s": (at_most(0.5), "<= 0.5 s"),
                      "fleet1000 interrupted: exit code": (equals(130), "130"),
                      "fleet1000 interrupted: survivors": (equals(0), "0"),
                      "fleet1000 stop s": (at_most(0.15), "<= 0.15 s")},
             ratios=("fleet1000 start s",)),
]}


# ---------------------------------------------------------------- report


def median(values):
    numeric = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numeric) != len(values):
        return values[len(values) // 2]
    return statistics.median(numeric)


def fmt(value):
    if isinstance(value, float):
        if value == float("inf"):
            return "never"
        if value != value:
            return "n/a"
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def selected_workloads(spec):
    names = []
    for item in spec.split(","):
        if item == "default":
            names += [w for w, v in WORKLOADS.items() if v.default]
        elif item == "all":
            names += [w for w in WORKLOADS if w != "watchdog"]  # the watchdog is in fleet
        elif item in WORKLOADS:
            names.append(item)
        elif item:
            sys.exit(f"unknown workload {item!r}; known: {', '.join(WORKLOADS)}")
    return list(dict.fromkeys(names))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tools", default="procmux,honcho,concurrently,sh")
    parser.add_argument("--workloads", default="default",
                        help="comma-separated names, `default` or `all`")
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    args = parser.parse_args()
    if args.list:
        for w in WORKLOADS.values():
            print(f"{w.name:<10} {'default' if w.default else 'opt-in ':<8} "
                  f"{'x --runs' if w.repeat else 'once    '} {w.title}")
        return

    tools = [TOOLS[t] for t in args.tools.split(",") if t in TOOLS]
    tools = [t for t in tools if t.available()]
    if not any(t.key == "procmux" for t in tools) and "procmux" in args.tools:
        print(f"note: {PROCMUX} not found; run `cargo build --release` first", file=sys.stderr)
    rows, samples, began_all = {}, {}, time.monotonic()
    workloads = [WORKLOADS[w] for w in selected_workloads(args.workloads)]
    for workload in workloads:
        applying = [t for t in tools if t.key in (workload.tools or TOOLS)]
        results = {t.name: [] for t in applying}
        spent = {t.name: 0.0 for t in applying}
        # Run i of every tool before run i + 1 of any: the machine's load drifts, and the tools
        # are compared with one another.
        for _ in range(args.runs if workload.repeat else 1):
            for tool in applying:
                began = time.monotonic()
                results[tool.name].append(workload.func(tool))
                spent[tool.name] += time.monotonic() - began
        for tool in applying:
            runs = results[tool.name]
            for key in runs[0]:
                values = [r.get(key, "-") for r in runs]
                rows.setdefault(key, {})[tool.name] = median(values)
                samples.setdefault(workload.name, {}).setdefault(key, {})[tool.name] = values
            print(f"  {workload.name} / {tool.name}: done in {spent[tool.name]:.1f} s",
                  file=sys.stderr)
        for key in workload.ratios:
            base = rows.get(key, {}).get("sh &")
            if not isinstance(base, (int, float)) or not base:
                continue
            for tool in tools:
                value = rows[key].get(tool.name)
                if tool.key != "sh" and isinstance(value, (int, float)):
                    rows.setdefault(f"{key} x sh", {})[tool.name] = value / base
                    samples[workload.name].setdefault(f"{key} x sh", {})[tool.name] = [
                        value / base]
    print(f"  all: {time.monotonic() - began_all:.0f} s", file=sys.stderr)

    columns = [t.name for t in tools]
    width = max(len(k) for k in rows) if rows else 10
    print(f"{'median of ' + str(args.runs):<{width}}  " + "  ".join(f"{c:>12}" for c in columns))
    for key, values in rows.items():
        if key.startswith("_"):
            continue  # a detail for the section only
        print(f"{key:<{width}}  " + "  ".join(f"{fmt(values.get(c, '-')):>12}" for c in columns))

    for workload in workloads:
        if workload.name not in samples:
            continue
        runs = f"median of {args.runs} runs" if workload.repeat else "one run, its own samples"
        print(f"\n## {workload.name}: {workload.title} ({runs})")
        print(f"   benches/compare.sh --workloads {workload.name}"
              + (f" --runs {args.runs}" if workload.repeat else "")
              + ("" if workload.tools is None else f" --tools {','.join(workload.tools)}"))
        for key, per_tool in samples[workload.name].items():
            cells = []
            for tool_name, values in per_tool.items():
                text = f"{tool_name} {fmt(median(values))}"
                if len(values) > 1:
                    text += " (" + " ".join(fmt(v) for v in values) + ")"
                cells.append(text)
            line = f"   {key.lstrip('_'):<{width}}  " + "; ".join(cells)
            if key in workload.targets and "procmux" in per_tool:
                check, text = workload.targets[key]
                verdict = "ok" if check(median(per_tool["procmux"])) else "MISSED"
                line += f"   [target {text}: {verdict}]"
            print(line)


if __name__ == "__main__":
    main()
