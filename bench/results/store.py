"""The results store: `<out>/runs/<run_id>/`, atomic writes, integrity check, resume.

A run directory holds `spec.json`, `checkpoint.pt`, `samples.npz`, `samples.png` (sample grid,
one row per test length k), `pictures/*.png` (locality pictures) and, written LAST as the
completion marker, `metrics.json`. Every file is written to a temporary name and moved into
place with os.replace. A directory without a valid metrics.json, or whose files do not match its
manifest, is corrupt: it is reported and redone. A failed run has only spec.json and metrics.json
(status "failed"); a rerun redoes it.

metrics.json (schema_version 1)::

    schema_version  1
    run_id          str, RunSpec.run_id
    status          "ok" | "failed"
    error           str | null          why the run failed (after every retry)
    attempts        int                 tries it took (1 = first try)
    spec            RunSpec.to_json() decoded: task, arch, seed, profile, overrides
    resolved        RunSpec.resolve(): every hyperparameter, task version, harness version
    task            {name, version, resolution, max_objects, train_lengths, test_lengths,
                     id_lengths, ood_lengths}
    arch            {name, conditioning, locality_radius, n_params, config}
    accuracy        {id_acc, ood_acc,               mean of acc over id / ood lengths (null if none)
                     per_k: {"<k>": {n, successes, acc, n_found, n_missing, n_extra,  (means)
                                      all_present, exact,                          (rates)
                                      [color: color_correct (rate), n_heldout, successes_heldout,
                                       n_seen, successes_seen]}},
                     [color: {color_acc, heldout_pair_acc, seen_pair_acc, n_heldout, n_seen}]}
    locality        locality.measure(): {split: {metric: {mean, per_sigma: {"<sigma>": v}}}}
    entanglement    bench.metrics.entanglement.feature_entanglement() (color task) or null
    train           {status, seconds, steps, n_params, final_loss, losses}
    timings         seconds per stage: train, sample, evaluate, locality, pictures,
                    entanglement, total
    provenance      {git: {commit, dirty}, packages: {name: version}, hardware: {...}, threads}
    files           {relative path: {sha256, bytes}} of every other file of the run directory
    checksum        sha256 of the canonical JSON of all the keys above

Accuracy fields are null and locality / entanglement / train may be null for a failed run.
`samples.npz` holds `images` uint8 (N, 3, R, R) (exactly the pixels that were scored), `k` int
(N,), `scenes` str (N,) (Scene.to_json of the conditioning scene), `success` bool (N,),
`sample_seed` int (N,).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA_VERSION = 1
METRICS = "metrics.json"
SPEC = "spec.json"


class IncompatibleResultsError(ValueError):
    """An --out directory that holds results of a different task version."""


@dataclasses.dataclass
class RunResult:
    """What a run hands back to the driver: metrics (without files/checksum) and file contents."""

    spec: Any  # bench.run.spec.RunSpec
    run_id: str
    metrics: dict
    files: dict[str, bytes] = dataclasses.field(default_factory=dict)  # relative path -> bytes

    @property
    def status(self) -> str:
        """"ok" or "failed"."""
        return self.metrics["status"]

    @property
    def error(self) -> str | None:
        """Why the run failed (None when it did not)."""
        return self.metrics.get("error")


def jsonable(obj: Any) -> Any:
    """Plain-JSON copy: numpy scalars to Python, non-finite floats to None, keys to str."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def canonical(obj: Any) -> str:
    """Canonical JSON of `obj` (sorted keys, no whitespace)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def sha256(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def atomic_write_png(path: Path, fig, **savefig_kwargs) -> Path:
    """Render a matplotlib figure as PNG, close it, and write it to `path` atomically."""
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", **savefig_kwargs)
    finally:
        plt.close(fig)
    atomic_write(path, buf.getvalue())
    return Path(path)


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same directory and os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def seal(metrics: dict, files: dict[str, bytes]) -> dict:
    """metrics with the file manifest and the checksum added (what metrics.json holds)."""
    body = jsonable({k: v for k, v in metrics.items() if k not in ("files", "checksum")})
    body["schema_version"] = SCHEMA_VERSION
    body["files"] = {name: {"sha256": sha256(data), "bytes": len(data)}
                     for name, data in sorted(files.items())}
    body["checksum"] = sha256(canonical(body).encode())
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

    def read_metrics(self, run_id: str) -> dict:
        """The parsed metrics.json of a run (OSError / ValueError when absent or unreadable)."""
        return json.loads((self.run_dir(run_id) / METRICS).read_text())

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
        if not isinstance(metrics, dict) or metrics.get("schema_version") != SCHEMA_VERSION:
            return RunState("corrupt", "metrics.json has no or another schema_version")
        body = {k: v for k, v in metrics.items() if k != "checksum"}
        if metrics.get("checksum") != sha256(canonical(body).encode()):
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
        atomic_write(d / METRICS, (json.dumps(sealed, indent=1, sort_keys=True) + "\n").encode())
        return sealed

    def write_drive_log(self, record: dict) -> Path:
        """One `compbench run` invocation's record (counts, seconds per phase) in <out>/drives/."""
        name = f"{record.get('started', 'drive')}-{os.getpid()}".replace(":", "")
        path = self.out / "drives" / f"{name}.json"
        atomic_write(path, (json.dumps(jsonable(record), indent=1, sort_keys=True) + "\n").encode())
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

    def iter_metrics(self) -> Iterator[tuple[str, RunState, dict | None]]:
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
                m = self.read_metrics(run_id)
                versions.setdefault(m["resolved"]["task"], set()).add(m["resolved"]["task_version"])
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
