"""A real two-node Ray cluster (`ray start`, token authentication) and the embedded Ray beside it.

These start Ray processes and drivers in subprocesses (about a minute in all), so they are marked
`cluster`: `pytest -q` leaves them out, `.ci/run` runs them with `pytest -m cluster`. Every Ray
process they start is stopped by its process id; nothing here reads or writes /tmp/ray or
~/.ray of the machine (each node has its own --temp-dir, HOME is a temporary directory).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import SHRINK

from bench.results.store import Store

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parent.parent
RAY = str(Path(sys.executable).with_name("ray")) if Path(sys.executable).with_name(
    "ray").exists() else (shutil.which("ray") or "ray")
COMPBENCH = [sys.executable, "-m", "bench.cli"]  # `compbench`, from this checkout


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env(**changes) -> dict:
    """This process's environment with `changes` (None removes a variable), compbench importable."""
    out = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    out.pop("RAY_ADDRESS", None)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            kids.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    return kids


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except OSError:
        return None


def descendants(pid: int) -> list[tuple[int, str | None]]:
    """(pid, start time) of `pid` and every process below it."""
    kids, out, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        out.append((p, _start_time(p)))
        todo += kids.get(p, [])
    return out


class RayNode:
    """One `ray start --block` in a subprocess (head or joining node), stopped by its pid."""

    def __init__(self, temp_dir: Path, log: Path, *, head_port: int | None = None,
                 address: str | None = None, environ: dict):
        ports = {flag: free_port() for flag in (
            "--dashboard-agent-listen-port", "--dashboard-agent-grpc-port",
            "--metrics-export-port", "--runtime-env-agent-port")}
        if head_port is not None:
            args = ["--head", f"--port={head_port}", "--include-dashboard=false"]
            ports["--dashboard-port"] = free_port()
        else:
            args = [f"--address={address}"]
        self.log = log
        self.cmd = [RAY, "start", *args, "--num-cpus=1", f"--temp-dir={temp_dir}",
                    "--disable-usage-stats", *(f"{k}={v}" for k, v in ports.items()), "--block"]
        with open(log, "w") as f:
            self.proc = subprocess.Popen(self.cmd, env=environ, stdout=f, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def wait_started(self, timeout: float = 90) -> None:
        """Until `ray start` says the node runs (its processes are up and registered)."""
        t0 = time.monotonic()
        while "Ray runtime started." not in self.log.read_text():
            if self.proc.poll() is not None or time.monotonic() - t0 > timeout:
                raise AssertionError(f"{' '.join(self.cmd)} did not start:\n"
                                     f"{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to `ray start` (it stops its raylet, GCS, agents, workers), then SIGKILL to any
        of those processes (the same pid and start time) still alive."""
        procs = descendants(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + 5
        for pid, started in procs:
            if started is None:
                continue
            while _start_time(pid) == started and time.monotonic() < deadline:
                time.sleep(0.1)
            if _start_time(pid) == started:  # the same process, still alive
                os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(5)


def alive_nodes(address: str, environ: dict) -> list[str]:
    """Node ids the cluster's GCS lists as alive (asked from a subprocess in token mode)."""
    code = (f"import json, ray._raylet as r; c = r.GcsClient(address={address!r}); print(json."
            "dumps([i.hex() for i, n in c.get_all_node_info(timeout=5).items() if n.state == 0]))")
    out = subprocess.run([sys.executable, "-c", code], env={**environ, "RAY_AUTH_MODE": "token"},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def node_ids(out: Path) -> list[str | None]:
    """provenance.ray_node_id of every run in the results directory `out`."""
    store = Store(out)
    return [store.read_metrics(run_id).provenance["ray_node_id"] for run_id in store.run_ids()]


@pytest.fixture
def base():
    """A short temporary directory (Ray's socket paths must stay under ~107 characters)."""
    d = Path(tempfile.mkdtemp(prefix="cb-ray-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_two_node_token_cluster_runs_the_smoke_suite(base):
    """docs/ray-cluster.md's commands, on this machine: head + one more node, token auth."""
    home = base / "home"
    home.mkdir()
    # The nodes export RAY_AUTH_MODE=token; the driver does not (compbench finds the need itself).
    node_env = env(HOME=str(home), RAY_AUTH_MODE="token", RAY_TMPDIR=str(base))
    token = subprocess.run([RAY, "get-auth-token", "--generate"], env=node_env,
                           capture_output=True, text=True, timeout=60)
    assert token.returncode == 0 and (home / ".ray" / "auth_token").is_file(), token.stderr
    port = free_port()
    address = f"127.0.0.1:{port}"
    # The head's --temp-dir is $RAY_TMPDIR/ray, where Ray keeps its address file (so the embedded
    # run below sees this live cluster as the one `ray.init()` would join).
    head = RayNode(base / "ray", base / "head.log", head_port=port, environ=node_env)
    nodes = [head]
    try:
        head.wait_started()
        other = RayNode(base / "node2", base / "node2.log", address=address, environ=node_env)
        nodes.append(other)
        other.wait_started()
        t0 = time.monotonic()
        while len(cluster := alive_nodes(address, node_env)) < 2:
            assert time.monotonic() - t0 < 60, cluster
            time.sleep(0.5)
        assert (base / "ray" / "ray_current_cluster").read_text().strip().endswith(f":{port}")

        driver_env = env(HOME=str(home), RAY_AUTH_MODE=None, RAY_TMPDIR=str(base))
        out = base / "results"
        t0 = time.monotonic()
        run = subprocess.run([*COMPBENCH, "run", "--suite", "smoke", "--ray-address", address,
                              "--out", str(out)], env=driver_env, capture_output=True, text=True,
                             timeout=600)
        seconds = time.monotonic() - t0
        assert run.returncode == 0, run.stderr[-4000:]
        assert "InvalidAuthToken" not in run.stderr and "Traceback" not in run.stderr
        assert "3 runs planned, 0 already done, 3 to run" in run.stderr
        assert (out / "runs.csv").is_file()
        store = Store(out)
        assert len(store.run_ids()) == 3
        assert all(store.check(run_id).state == "complete" for run_id in store.run_ids())
        ran_on = node_ids(out)
        assert set(ran_on) == set(cluster), (ran_on, cluster)  # both nodes, nothing else
        print(f"\ncluster smoke suite: {seconds:.1f} s, runs on nodes {ran_on}")

        # A wrong token, no token, token mode off: one clear error within seconds each, naming
        # the address and the fix, and no InvalidAuthToken lines from Ray.
        (base / "empty").mkdir()
        for changes, message in (
                ({"RAY_AUTH_TOKEN": "not-the-token"},
                 f"cluster at '{address}' refused the authentication token from RAY_AUTH_TOKEN"),
                ({"HOME": str(base / "empty")},
                 f"cluster at '{address}' requires token authentication, and this machine has no "
                 "token"),
                ({"RAY_AUTH_MODE": "disabled"},
                 f"cluster at '{address}' requires token authentication, but "
                 "RAY_AUTH_MODE=disabled: set RAY_AUTH_MODE=token")):
            t0 = time.monotonic()
            bad = subprocess.run([*COMPBENCH, "run", "--suite", "smoke", "--ray-address", address,
                                  "--out", str(base / "bad")], env={**driver_env, **changes},
                                 capture_output=True, text=True, timeout=120)
            assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr
            assert message in " ".join(bad.stderr.split()), bad.stderr
            assert "InvalidAuthToken" not in bad.stderr
            assert time.monotonic() - t0 < 30

        # No address: compbench starts a Ray of its own, not the live cluster of the address file.
        local = base / "local"
        embedded = subprocess.run([*COMPBENCH, "run", "--suite", "smoke", "--arch",
                                   "conv-heatmap-rf5", *SHRINK, "--num-cpus", "1", "--out",
                                   str(local)], env=driver_env, capture_output=True, text=True,
                                  timeout=600)
        assert embedded.returncode == 0, embedded.stderr[-4000:]
        (own,) = node_ids(local)
        assert own is not None and own not in cluster
    finally:
        for node in reversed(nodes):
            node.stop()
    for node in nodes:
        assert node.proc.returncode is not None


def test_embedded_run_ignores_a_stale_address_file(base):
    """A dead cluster's address in Ray's address file (where RAY_TMPDIR points) is not tried."""
    (base / "ray").mkdir()
    (base / "ray" / "ray_current_cluster").write_text(f"127.0.0.1:{free_port()}")
    out = base / "results"
    t0 = time.monotonic()
    run = subprocess.run([*COMPBENCH, "run", "--suite", "smoke", "--arch", "conv-heatmap-rf5",
                          *SHRINK, "--num-cpus", "1", "--out", str(out)],
                         env=env(RAY_TMPDIR=str(base)), capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-4000:]
    assert "Started a local Ray instance" in run.stderr
    assert "Failed to connect to GCS" not in run.stderr
    (own,) = node_ids(out)
    assert own is not None
    assert time.monotonic() - t0 < 120
