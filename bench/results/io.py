"""Byte-level helpers of the results format: canonical JSON, hashes, atomic writes, PNG bytes."""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


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


def canonical_json(obj: Any) -> str:
    """Canonical JSON of `obj`: sorted keys, no whitespace, floats in repr form, no NaN."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def sha256(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def config_hash(obj: Any) -> str:
    """First 12 hex digits of sha256(canonical_json(obj)): the run id of a resolved config."""
    return sha256(canonical_json(obj).encode())[:12]


def pretty_json(obj: Any) -> bytes:
    """Indented, key-sorted JSON of a plain-JSON copy of `obj`, as file bytes."""
    return (json.dumps(jsonable(obj), indent=1, sort_keys=True, allow_nan=False) + "\n").encode()


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


def figure_png(fig, **savefig_kwargs) -> bytes:
    """PNG bytes of a matplotlib Figure (made without pyplot, so nothing needs closing)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", **savefig_kwargs)
    return buf.getvalue()
