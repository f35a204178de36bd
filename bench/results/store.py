"""The results store: `<out>/runs/<run_id>/`, atomic writes, integrity check, resume.

A run directory holds `spec.json`, `checkpoint.pt` (not for a parameter-free scored denoiser),
`samples.npz`, `samples.png` (sample grid, one row per test length k), `pictures/*.png` (locality
pictures) and, written LAST as the completion marker, `metrics.json` (its schema:
bench.results.schema). Every file is written to a temporary name and moved into place with
os.replace. A directory without a valid metrics.json, or whose files do not match its manifest, is
corrupt: it is reported and redone. A failed run has only spec.json and metrics.json (status
"failed"); a rerun redoes it. Runs written by an older readable
schema version stay complete: they are read (upgraded in memory) and skipped on resume.

`samples.npz` holds `images` uint8 (N, 3, R, R) (exactly the pixels that were scored), `k` int
(N,), `scenes` str (N,) (Scene.to_json of the conditioning scene), `success` bool (N,),
`sample_seed` int (N,).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.results.io import atomic_write, canonical_json, jsonable, pretty_json, sha256
from bench.results.schema import READABLE_VERSIONS, SCHEMA_VERSION, Metrics

METRICS = "metrics.json"
SPEC = "spec.json"
CHECKPOINT = "checkpoint.pt"


class IncompatibleResultsError(ValueError):
    """An --out directory that holds results of a different task version."""


@dataclasses.dataclass
class RunResult:
    """What a run hands back to the driver: its metrics and the contents of its files."""

    spec: Any  # bench.run.spec.RunSpec
    run_id: str
    metrics: Metrics
    files: dict[str, bytes] = dataclasses.field(default_factory=dict)  # relative path -> bytes

    @property
    def status(self) -> str:
        """"ok" or "failed"."""
        return self.metrics.status

    @property
    def error(self) -> str | None:
        """Why the run failed (None when it did not)."""
        return self.metrics.error


def seal(metrics: Metrics, files: dict[str, bytes]) -> dict:
    """metrics.json: the metrics with schema_version, the file manifest and the checksum added."""
    body = jsonable(metrics.to_json())
    body["schema_version"] = SCHEMA_VERSION
    body["files"] = {name: {"sha256": sha256(data), "bytes": len(data)}
                     for name, data in sorted(files.items())}
    body["checksum"] = sha256(canonical_json(body).encode())
    return body


@dataclasses.dataclass(frozen=True)
class RunState:
    """State of a run directory: "missing" | "complete" | "failed" | "corrupt", with the reason."""

    state: str
    reason: str = ""


class Store:
    """A results directory `<out>` with one sub-directory per run under `<out>/runs/`."""

    def __init__(self, out: str | os.PathLike):
        self.out = Path(out)
        self.runs = self.out / "runs"

    def run_dir(self, run_id: str) -> Path:
        """Directory of one run."""
        return self.runs / run_id

    def run_ids(self) -> list[str]:
        """Ids of every run directory present (whatever its state)."""
        if not self.runs.is_dir():
            return []
        return sorted(p.name for p in self.runs.iterdir()
                      if p.is_dir() and not p.name.startswith("."))

    def read_metrics(self, run_id: str) -> Metrics:
        """A run's metrics, any readable schema version (OSError / ValueError if unreadable)."""
        return Metrics.from_json(json.loads((self.run_dir(run_id) / METRICS).read_text()))

    def manifest(self, run_id: str) -> dict[str, dict]:
        """{relative path: {sha256, bytes}} of a run's files, as its metrics.json lists them."""
        return json.loads((self.run_dir(run_id) / METRICS).read_text())["files"]

    def check(self, run_id: str) -> RunState:
        """Integrity check of a run directory against its metrics.json manifest and checksum."""
        d = self.run_dir(run_id)
        if not d.is_dir():
            return RunState("missing")
        path = d / METRICS
        if not path.is_file():
            return RunState("corrupt", "half-written: no metrics.json")
        try:
            metrics = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            return RunState("corrupt", f"metrics.json unreadable: {err}")
        if not isinstance(metrics, dict) or metrics.get("schema_version") not in READABLE_VERSIONS:
            return RunState("corrupt", "metrics.json has no readable schema_version "
                                       f"({', '.join(map(str, READABLE_VERSIONS))})")
        body = {k: v for k, v in metrics.items() if k != "checksum"}
        if metrics.get("checksum") != sha256(canonical_json(body).encode()):
            return RunState("corrupt", "metrics.json checksum mismatch")
        if metrics.get("run_id") != run_id:
            return RunState("corrupt", f"metrics.json names run {metrics.get('run_id')!r}")
        for name, entry in metrics.get("files", {}).items():
            f = d / name
            if not f.is_file():
                return RunState("corrupt", f"{name} missing")
            data = f.read_bytes()
            if len(data) != entry["bytes"] or sha256(data) != entry["sha256"]:
                return RunState("corrupt", f"{name} does not match its checksum")
        if metrics.get("status") != "ok":
            return RunState("failed", metrics.get("error") or "failed")
        return RunState("complete")

    def write(self, result: RunResult) -> dict:
        """Write a run's files atomically, metrics.json last; returns the sealed metrics."""
        d = self.run_dir(result.run_id)
        # Invalidate first: while we rewrite, the directory must not look complete.
        (d / METRICS).unlink(missing_ok=True)
        if d.exists():
            for child in d.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        d.mkdir(parents=True, exist_ok=True)
        files = dict(result.files)
        files[SPEC] = (json.dumps(json.loads(result.spec.to_json()), indent=2) + "\n").encode()
        for name, data in files.items():
            if name == METRICS or Path(name).is_absolute() or ".." in Path(name).parts:
                raise ValueError(f"bad file name in a run result: {name!r}")
            atomic_write(d / name, data)
        sealed = seal(result.metrics, files)
        atomic_write(d / METRICS, pretty_json(sealed))
        return sealed

    def write_drive_log(self, record: dict) -> Path:
        """One `compbench run` invocation's record (counts, seconds per phase) in <out>/drives/;
        never over an earlier one (two drives of one process in one second get -1, -2, ...)."""
        name = f"{record.get('started', 'drive')}-{os.getpid()}".replace(":", "")
        path = self.out / "drives" / f"{name}.json"
        n = 0
        while path.exists():
            n += 1
            path = self.out / "drives" / f"{name}-{n}.json"
        atomic_write(path, pretty_json(record))
        return path

    def drive_logs(self) -> list[dict]:
        """Every readable drive record, oldest first."""
        logs = []
        for path in sorted((self.out / "drives").glob("*.json")):
            try:
                logs.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue
        return logs

    def iter_metrics(self) -> Iterator[tuple[str, RunState, Metrics | None]]:
        """(run_id, state, metrics or None) of every run directory."""
        for run_id in self.run_ids():
            state = self.check(run_id)
            metrics = None
            if state.state in ("complete", "failed"):
                metrics = self.read_metrics(run_id)
            yield run_id, state, metrics

    def task_versions(self) -> dict[str, set[int]]:
        """Task name -> task versions found in the store's readable metrics.json files."""
        versions: dict[str, set[int]] = {}
        for run_id in self.run_ids():
            try:
                resolved = self.read_metrics(run_id).resolved
                versions.setdefault(resolved["task"], set()).add(resolved["task_version"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return versions

    def check_task_versions(self, current: dict[str, int]) -> None:
        """IncompatibleResultsError if the store holds another version of a task in `current`."""
        for task, found in sorted(self.task_versions().items()):
            if task in current and found - {current[task]}:
                old = ", ".join(str(v) for v in sorted(found - {current[task]}))
                raise IncompatibleResultsError(
                    f"{self.out} holds results of task {task!r} version {old}, but the installed "
                    f"task is version {current[task]}; use another --out (or delete the old "
                    "results)"
                )
