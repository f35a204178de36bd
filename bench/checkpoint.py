"""Checkpoints: state_dict + spec JSON + model config, written atomically; load rebuilds."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch

from bench.spec import RunSpec

FORMAT = 1


def save(path: str | os.PathLike, model: torch.nn.Module, spec: RunSpec,
         extra: dict | None = None) -> Path:
    """Write {state_dict, spec, config} to `path` atomically (temp file + os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "spec": spec.to_json(), "config": json.dumps(model.config),
               "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
               "extra": json.dumps(extra or {})}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load(path: str | os.PathLike, device: torch.device | str = "cpu"):
    """(model, spec) from a checkpoint: rebuilt via baselines.get, weights loaded strictly."""
    import baselines
    import tasks

    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("format") != FORMAT:
        raise ValueError(f"{path}: unknown checkpoint format {payload.get('format')!r}")
    spec = RunSpec.from_json(payload["spec"])
    config = json.loads(payload["config"])
    task = tasks.get(spec.task, **spec.task_options())
    model = baselines.get(config["name"], task, **config.get("hparams", {}))
    model.load_state_dict(payload["state_dict"], strict=True)
    return model.to(device).eval(), spec
