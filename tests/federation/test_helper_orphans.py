"""A sync's helper process dies with the process that started it, even after SIGKILL.

Real processes: a parent starts a `Helper` (as a large pull does), prints the
worker's pid, and is killed with SIGKILL; the worker is gone within seconds.
The portable fallback (a thread watching for a new parent) is checked on its
own, without the Linux prctl.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

HELPER_PARENT = """
import time
from federation.prepare import Helper
helper = Helper()
helper.start()
while not helper.ready:
    time.sleep(0.05)
print(*helper._pool._processes, flush=True)
time.sleep(600)
"""

WATCHED_CHILD = """
import sys, time
from federation.prepare import die_with_parent
die_with_parent(int(sys.argv[1]), every=0.2, kernel=False)
print("watching", flush=True)
time.sleep(600)
"""

# The parent of WATCHED_CHILD: starts it, passes its own pid, prints the child's pid.
WATCHING_PARENT = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid())], stdout=subprocess.PIPE)
assert child.stdout is not None and child.stdout.readline().strip() == b"watching"
print(child.pid, flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its new parent to reap it counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" not in status.read_text()
    except FileNotFoundError:
        return not Path("/proc/self").exists()


def kill_and_watch(args: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen([sys.executable, "-c", *args], stdout=subprocess.PIPE, env=env, cwd=ROOT)
    workers: list[int] = []
    try:
        assert parent.stdout is not None
        workers = [int(p) for p in parent.stdout.readline().split()]
        assert workers and all(alive(pid) for pid in workers)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(pid) for pid in workers), f"{workers} outlived their parent"
    finally:
        parent.kill()
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_the_helper_dies_with_a_killed_sync() -> None:
    kill_and_watch([textwrap.dedent(HELPER_PARENT)])


def test_the_portable_watch_ends_an_orphan_on_its_own() -> None:
    kill_and_watch([textwrap.dedent(WATCHING_PARENT), textwrap.dedent(WATCHED_CHILD)])
