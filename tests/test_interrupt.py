"""Ctrl-C during a suite: a real driver gets SIGINT while its second run trains, and answers.

Two runs of one architecture (seeds 0 and 1) run one after the other (serial, or an embedded Ray of
one CPU); once the first is reported finished, the driver's process group gets SIGINT, as from a
terminal. It must exit 130 within seconds, without a traceback, keep the finished run and say how
to resume. The Ray case starts a Ray, so it is marked `cluster` (run by `.ci/run`).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from bench.results.store import Store
from bench.suite import executors

REPO = Path(__file__).resolve().parent.parent
# The second run must still train when SIGINT comes (a second after the first finished): a few
# hundred steps are seconds here, and both runs take the same time.
SLOW_ENOUGH = ("--set", "steps=400", "--set", "n_train_scenes=8", "--set", "samples_per_k=2",
               "--set", "locality_n=1", "--set", "sampler_steps=2")
BOUND_S = 15.0  # SIGINT to exit (measured: about 2-3 s)


def interrupt_mid_suite(out: Path, *extra: str, env: dict | None = None):
    """Run the two-run suite, SIGINT its process group a second after the first run finished.

    Returns (exit code, stderr, seconds from SIGINT to exit, run id of the finished run).
    """
    cmd = [sys.executable, "-m", "bench.cli", "run", "--suite", "smoke", "--arch",
           "conv-heatmap-rf5", "--seeds", "2", *SLOW_ENOUGH, "--out", str(out), *extra]
    environ = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    environ.pop("RAY_ADDRESS", None)
    proc = subprocess.Popen(cmd, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    lines: list[str] = []
    first_done = threading.Event()

    def read():
        for line in proc.stderr:
            lines.append(line)
            if " 1/2 " in line:
                first_done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert first_done.wait(300), "".join(lines)[-3000:]
        time.sleep(1.0)
        assert proc.poll() is None, "".join(lines)[-3000:]  # the second run is in flight
        t0 = time.perf_counter()
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(60)
        seconds = time.perf_counter() - t0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    reader.join(10)
    stderr = "".join(lines)
    (finished,) = re.findall(r" 1/2 .*\((\w{12})\)", stderr)
    return proc.returncode, stderr, seconds, finished


def check_interrupted(out: Path, code: int, stderr: str, seconds: float, finished: str) -> None:
    assert code == 130, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert "Aborted!" not in stderr
    resume = [line for line in stderr.splitlines() if line.startswith("interrupted:")]
    assert resume == [f"interrupted: 1 of 2 runs finished and saved in {out}; rerun the same "
                      "command to resume"], stderr[-3000:]
    store = Store(out)
    assert store.check(finished).state == "complete"  # kept, and skipped on resume
    others = [run_id for run_id in store.run_ids() if run_id != finished]
    assert all(store.check(run_id).state != "complete" for run_id in others)
    assert seconds < BOUND_S, f"{seconds:.1f} s from SIGINT to exit"
    print(f"\nSIGINT -> exit: {seconds:.2f} s")


def test_ctrl_c_serial(tmp_path):
    out = tmp_path / "results"
    check_interrupted(out, *interrupt_mid_suite(out, "--executor", "serial"))


@pytest.mark.cluster
def test_ctrl_c_ray(tmp_path):
    out = tmp_path / "results"
    with tempfile.TemporaryDirectory(prefix="cb-ray-") as ray_tmp:  # not /tmp/ray of others
        result = interrupt_mid_suite(out, "--num-cpus", "1", env={"RAY_TMPDIR": ray_tmp})
    check_interrupted(out, *result)


def test_interrupt_during_drive_cancels_and_reraises(tmp_path):
    """drive(): KeyboardInterrupt stops the executor (SIGINT ignored meanwhile), then rises."""
    from bench.run.spec import RunSpec

    calls = []

    class Interrupted:
        def run(self, specs):
            raise KeyboardInterrupt
            yield

        def shutdown(self):
            calls.append(signal.getsignal(signal.SIGINT))

    summary = executors.DriveSummary()
    with pytest.raises(KeyboardInterrupt):
        executors.drive([RunSpec("length", "conv-heatmap-rf5", 0, "smoke")], Store(tmp_path),
                        Interrupted(), echo=lambda line: None, summary=summary)
    assert calls[0] is signal.SIG_IGN and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
    assert summary.ok == [] and summary.failed == []
