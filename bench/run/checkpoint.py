"""Checkpoints: state_dict + spec JSON + model config, written atomically; load rebuilds."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import torch

from bench.results.io import atomic_write
from bench.run.spec import RunSpec

FORMAT = 1


def to_bytes(model: torch.nn.Module, spec: RunSpec) -> bytes:
    """The checkpoint file's bytes: {format, spec JSON, model config JSON, state_dict}."""
    payload = {"format": FORMAT, "spec": spec.to_json(), "config": json.dumps(model.config),
               "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


def save(path: str | os.PathLike, model: torch.nn.Module, spec: RunSpec) -> Path:
    """Write the checkpoint to `path` atomically (temp file + os.replace)."""
    atomic_write(Path(path), to_bytes(model, spec))
    return Path(path)


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
