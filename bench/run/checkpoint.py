"""Checkpoints: state_dict + spec JSON + model config, written atomically; load rebuilds."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import torch

import baselines
import tasks
from bench.results.io import atomic_write
from bench.run import plugins
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


def read(path: str | os.PathLike) -> dict:
    """The checkpoint's payload {format, spec, config, state_dict}; ValueError if it is not one."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise ValueError(f"{path}: unknown checkpoint format {found!r}")
    return payload


def load(path: str | os.PathLike, device: torch.device | str = "cpu"):
    """(model, spec) from a checkpoint: rebuilt via baselines.get, weights loaded strictly.

    A plugin architecture (`package.module:factory` in the spec, or an entry point) is registered
    first; where the model's config names no registered architecture, the spec's arch and hparams
    rebuild it, as training built it.
    """
    payload = read(path)
    spec = RunSpec.from_json(payload["spec"])
    config = json.loads(payload["config"])
    if config["name"] not in baselines.REGISTRY or spec.arch not in baselines.REGISTRY:
        plugins.load_entry_points()
        plugins.register_all((spec.arch, config["name"]))
    task = tasks.get(spec.task, **spec.task_kwargs())
    if config["name"] in baselines.REGISTRY:
        model = baselines.get(config["name"], task, **config.get("hparams", {}))
    else:
        model = baselines.get(spec.arch, task, **spec.arch_hparams())
    model.load_state_dict(payload["state_dict"], strict=True)
    return model.to(device).eval(), spec
