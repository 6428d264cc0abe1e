"""atomic_write removes the temp files a killed writer left for the same target, and only those."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from domaintune.io import atomic_write, remove_stale_temps


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _temp(folder, name, *, age: float = 0.0):
    path = folder / name
    path.write_bytes(b"x" * 20)
    if age:
        os.utime(path, (time.time() - age, time.time() - age))
    return path


def test_stale_temps_of_the_same_target_are_removed_live_ones_kept(tmp_path):
    target = tmp_path / "out.jsonl"
    dead = _dead_pid()
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        live, me = sleeper.pid, os.getpid()
        time.sleep(1.2)  # the sleeper's start time is whole seconds away from the files below
        stale = [
            _temp(tmp_path, f".out.jsonl.{dead}-abcdefgh.tmp"),  # its writer is gone
            _temp(tmp_path, f".out.jsonl.{live}-abcdefgh.tmp", age=3600),  # pid recycled since
            _temp(tmp_path, f".out.jsonl.{me}-abcdefgh.tmp", age=3600),  # before this process
            _temp(tmp_path, ".out.jsonl.k2j4_9xa.tmp", age=3600),  # an older version's name
        ]
        kept = [
            _temp(tmp_path, f".out.jsonl.{live}-bcdefghi.tmp"),  # being written right now
            _temp(tmp_path, f".out.jsonl.{me}-cdefghij.tmp"),  # another thread of this process
            _temp(tmp_path, f".out.jsonl.rejected.jsonl.{dead}-abcdefgh.tmp"),  # other target
            _temp(tmp_path, f".other.jsonl.{dead}-abcdefgh.tmp"),
        ]
        assert sorted(remove_stale_temps(target)) == sorted(stale)
        with atomic_write(target) as f:
            f.write("done\n")
    finally:
        sleeper.kill()
        sleeper.wait()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [p.name for p in kept] + ["out.jsonl"]
    )
    assert target.read_text() == "done\n"


_KILLED_WRITER = """
import os, signal, sys
from domaintune.io import atomic_write
with atomic_write(sys.argv[1]) as f:
    f.write("x" * 2**20)
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_kill_during_atomic_write_leaves_a_temp_the_next_write_removes(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(target)])
    assert proc.wait() == -signal.SIGKILL
    left = [p for p in tmp_path.iterdir() if p != target]
    assert [p.name for p in left] == [f".out.jsonl.{proc.pid}-{left[0].name[-12:-4]}.tmp"]
    assert left[0].stat().st_size == 2**20 and target.read_text() == "old\n"
    with atomic_write(target) as f:
        f.write("new\n")
    assert sorted(tmp_path.iterdir()) == [target] and target.read_text() == "new\n"
