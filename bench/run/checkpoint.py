"""Checkpoints: state_dict + spec JSON + model config, written atomically; load rebuilds."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import torch

from bench.results.store import atomic_write
from bench.run.spec import RunSpec

FORMAT = 1


def save(path: str | os.PathLike, model: torch.nn.Module, spec: RunSpec,
         extra: dict | None = None) -> Path:
    """Write {state_dict, spec, config} to `path` atomically (temp file + os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "spec": spec.to_json(), "config": json.dumps(model.config),
               "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
               "extra": json.dumps(extra or {})}
    buf = io.BytesIO()
    torch.save(payload, buf)
    atomic_write(path, buf.getvalue())
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
