"""Executors (serial, Ray) that run RunSpecs with retries, and the driver that writes each result.

An executor yields one RunResult per spec, in the order runs finish. A run that raises,
diverges, or whose worker dies is retried up to `retries` times, then yields a failed row. The
driver (`drive`) writes every result as it arrives, so an interrupt loses no finished run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlparse

from bench.results.store import RunResult, Store
from bench.run import execute as run_execute
from bench.suite import ray_cluster
from bench.suite.errors import ExecutorError  # re-exported: its name of record is here

REACH_TIMEOUT_S = 3.0


def _describe_error(err: BaseException) -> str:
    """`Type: message` of an exception, unwrapping Ray's task errors to their cause."""
    cause = getattr(err, "cause", None)
    if isinstance(cause, BaseException):
        err = cause
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def _failed(spec, err: BaseException, attempts: int) -> RunResult:
    return run_execute.failed_result(spec, _describe_error(err), attempts,
                                 traceback="".join(traceback.format_exception(err))[-4000:])


def _tried(result: RunResult, attempts: int) -> RunResult:
    """The result with the number of tries it took recorded in its metrics."""
    return dataclasses.replace(result, metrics=result.metrics.retried(attempts))


class SerialExecutor:
    """Runs specs one after another in this process."""

    def __init__(self, *, threads: int | None = 1, device: str | None = None, retries: int = 1,
                 execute: Callable | None = None):
        self.threads, self.device, self.retries = threads, device, retries
        self.execute = execute or run_execute.execute

    def start(self) -> None:
        """Nothing to start; checks that a requested GPU exists."""
        if self.device and self.device.startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise ExecutorError("a GPU was requested, but torch sees no CUDA device")

    def shutdown(self) -> None:
        """Nothing to stop."""

    def run(self, specs: Iterable) -> Iterator[RunResult]:
        """Yield a RunResult per spec, retrying failures up to `retries` times."""
        for spec in specs:
            for attempt in range(1, self.retries + 2):
                try:
                    result = self.execute(spec, threads=self.threads, device=self.device)
                    yield _tried(result, attempt)
                    break
                except KeyboardInterrupt:
                    raise
                except Exception as err:  # a failed run never sinks the suite
                    if attempt > self.retries:
                        yield _failed(spec, err, attempt)


def check_reachable(address: str, timeout: float = REACH_TIMEOUT_S) -> None:
    """Raise ExecutorError within `timeout` s if the Ray address's host:port does not accept TCP."""
    if address in ("auto", "local"):
        return
    parsed = urlparse(address if "://" in address else f"ray://{address}")
    try:
        host, port = parsed.hostname, parsed.port
    except ValueError as err:
        raise ExecutorError(f"Ray address {address!r} is not host:port ({err})") from err
    if not host or not port:
        raise ExecutorError(f"Ray address {address!r} is not host:port")
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            answer = _http2_handshake(conn)
    except OSError as err:
        raise ExecutorError(f"cannot reach the Ray cluster at {address!r} ({host}:{port}): "
                            f"{err or type(err).__name__}") from err
    if answer is None:
        raise ExecutorError(f"{host}:{port} accepts connections but does not answer like a Ray "
                            f"cluster (no gRPC/HTTP-2 handshake within {timeout:g} s): is "
                            f"{address!r} the head's GCS or client port?")


# HTTP/2 client preface + an empty SETTINGS frame; a gRPC server (Ray's GCS and client server)
# answers with a SETTINGS frame (type 0x4) of its own.
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])


def _http2_handshake(conn: socket.socket) -> bytes | None:
    """The first frame header a gRPC server sends back after our preface, or None if none comes."""
    conn.sendall(_HTTP2_PREFACE)
    header = b""
    try:
        while len(header) < 9:
            chunk = conn.recv(9 - len(header))
            if not chunk:
                return None
            header += chunk
    except TimeoutError:
        return None
    return header if header[3] == 4 else None


def _remote_execute(execute, spec, threads, device):
    """Body of the Ray task: one run, returned to the driver."""
    return execute(spec, threads=threads, device=device)


class RayExecutor:
    """One Ray task per run, pinned to `cpus_per_run` CPUs and `gpus_per_run` (fractional) GPUs."""

    def __init__(self, *, address: str | None = None, num_cpus: int | None = None,
                 cpus_per_run: int = 1, gpus_per_run: float = 0.0, retries: int = 1,
                 execute: Callable | None = None):
        self.address, self.num_cpus = address, num_cpus
        self.execute = execute or run_execute.execute
        self.cpus_per_run, self.gpus_per_run = cpus_per_run, gpus_per_run
        self.retries = retries
        self._owns_ray = False
        self._pending: dict = {}
        self._task = None

    def start(self) -> None:
        """Connect to (or start) Ray; fail at once if the cluster cannot host one run."""
        import ray

        if not ray.is_initialized():
            if self.address:
                check_reachable(self.address)
                ray_cluster.match_auth(self.address)  # token mode if the cluster wants it
                try:
                    ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
                except (ConnectionError, RuntimeError, TimeoutError, ValueError,
                        ray.exceptions.RayError) as err:
                    # The port answered, but no Ray cluster did (or it refused us).
                    raise ExecutorError(f"cannot connect to the Ray cluster at {self.address!r}: "
                                        f"{err}") from err
            else:
                # "local": a new Ray of our own, never the cluster that RAY_ADDRESS or the last
                # `ray start`'s address file (/tmp/ray/ray_current_cluster) points to.
                ray.init(address="local", num_cpus=self.num_cpus, include_dashboard=False,
                         log_to_driver=False)
            self._owns_ray = True
        self._task = ray.remote(_remote_execute)
        resources = ray.cluster_resources()
        gpus, cpus = resources.get("GPU", 0.0), resources.get("CPU", 0.0)
        if self.gpus_per_run > 0 and gpus < self.gpus_per_run:
            self.shutdown()
            raise ExecutorError(f"--gpus-per-run {self.gpus_per_run:g} asked, but the Ray cluster "
                                f"has {gpus:g} GPU(s)")
        if cpus < self.cpus_per_run:
            self.shutdown()
            raise ExecutorError(f"a run needs {self.cpus_per_run} CPU(s), but the Ray cluster has "
                                f"{cpus:g}")

    def shutdown(self) -> None:
        """Cancel what still runs; stop the Ray we started (not a fixture's or a cluster's)."""
        import ray

        for ref in list(self._pending):
            try:
                ray.cancel(ref, force=True)
            except Exception:
                pass
        self._pending.clear()
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()
        self._owns_ray = False

    def _submit(self, spec):
        task = self._task.options(
            num_cpus=self.cpus_per_run, num_gpus=self.gpus_per_run, max_retries=0)
        device = "cuda" if self.gpus_per_run > 0 else "cpu"
        return task.remote(self.execute, spec, self.cpus_per_run, device)

    def run(self, specs: Iterable) -> Iterator[RunResult]:
        """Submit every spec, yield RunResults as they finish, resubmitting failures."""
        import ray

        attempts: dict = {}
        for spec in specs:
            attempts[spec] = 1
            self._pending[self._submit(spec)] = spec
        while self._pending:
            (ref,), _ = ray.wait(list(self._pending), num_returns=1)
            spec = self._pending.pop(ref)
            try:
                yield _tried(ray.get(ref), attempts[spec])
            except KeyboardInterrupt:
                raise
            except Exception as err:  # task error, dead worker, ...: retry, then a failed row
                if attempts[spec] > self.retries:
                    yield _failed(spec, err, attempts[spec])
                else:
                    attempts[spec] += 1
                    self._pending[self._submit(spec)] = spec


def _fmt_time(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    """A bar over runs with ETA, and one line per finished run."""

    def __init__(self, total: int, echo: Callable[[str], None] | None = None, width: int = 20):
        self.total, self.done, self.width = total, 0, width
        self.echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
        self.t0 = time.perf_counter()

    def line(self, result: RunResult) -> str:
        """The progress line of the latest finished run (counted by `update`)."""
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / self.done * (self.total - self.done)
        filled = round(self.width * self.done / max(self.total, 1))
        bar = "#" * filled + "." * (self.width - filled)
        m, spec = result.metrics, result.spec
        if result.status == "ok":
            fmt = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
            what = f"id {fmt(m.accuracy['id_acc'])} ood {fmt(m.accuracy['ood_acc'])}"
            seconds = m.timings["total"]
        else:
            what = f"FAILED after {m.attempts} tries: {m.error}"
            seconds = None
        took = f" {seconds:.1f}s" if seconds is not None else ""
        return (f"[{bar}] {self.done}/{self.total} ETA {_fmt_time(eta)} | {spec.arch} {spec.task} "
                f"seed {spec.seed}: {what}{took} ({result.run_id})")

    def update(self, result: RunResult) -> None:
        """Count a finished run and print its line."""
        self.done += 1
        self.echo(self.line(result))


@dataclass
class DriveSummary:
    """Run ids: skipped (complete), redone (corrupt / failed before), ok, failed."""

    planned: int = 0
    skipped: list[str] = field(default_factory=list)
    redone: list[tuple[str, str]] = field(default_factory=list)  # (run_id, why)
    ok: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (run_id, error)


def todo(specs: list, store: Store, *, force: bool = False,
         echo: Callable[[str], None] | None = None, summary: DriveSummary | None = None) -> list:
    """Specs to run: all with force, else those without a complete result (reports corrupt)."""
    echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
    summary = summary if summary is not None else DriveSummary()
    out = []
    for spec in specs:
        run_id = spec.run_id
        state = store.check(run_id)
        if state.state == "complete" and not force:
            summary.skipped.append(run_id)
            continue
        if state.state == "corrupt":
            echo(f"run {run_id} ({spec.arch} {spec.task} seed {spec.seed}) is corrupt "
                 f"({state.reason}); redoing it")
            summary.redone.append((run_id, state.reason))
        elif state.state == "failed":
            echo(f"run {run_id} ({spec.arch} {spec.task} seed {spec.seed}) failed before "
                 f"({state.reason}); redoing it")
            summary.redone.append((run_id, "failed before"))
        out.append(spec)
    return out


@contextlib.contextmanager
def _sigint_ignored():
    """SIGINT ignored inside (main thread only): a second Ctrl-C cannot break off the cleanup."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def drive(specs: list, store: Store, executor, echo: Callable[[str], None] | None = None,
          summary: DriveSummary | None = None) -> DriveSummary:
    """Run `specs` (see `todo`) through a started executor, writing each result as it arrives.

    On KeyboardInterrupt nothing more is submitted, what still runs is cancelled (the executor's
    `shutdown`) and the interrupt is raised again; `summary`, if given, holds what finished.
    """
    summary = summary if summary is not None else DriveSummary(planned=len(specs))
    if not specs:
        return summary
    progress = Progress(len(specs), echo)
    try:
        for result in executor.run(specs):
            store.write(result)
            if result.status == "ok":
                summary.ok.append(result.run_id)
            else:
                summary.failed.append((result.run_id, result.error or "failed"))
            progress.update(result)
    except KeyboardInterrupt:
        with _sigint_ignored():
            executor.shutdown()
        raise
    finally:
        executor.shutdown()  # a no-op after the one above
    return summary
