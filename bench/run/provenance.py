"""Provenance of a result: git commit and dirty flag, package versions, hardware, Ray node."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path

PACKAGES = ("compbench", "torch", "numpy", "scipy", "pandas", "ray", "seaborn", "matplotlib",
            "click")
REPO = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str | None:
    """Output of `git <args>` in the source tree, or None where git or the repository is missing."""
    try:
        out = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True,
                             timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


@functools.lru_cache(maxsize=1)
def git() -> dict:
    """{"commit": sha or None, "dirty": bool or None} of the compbench source tree."""
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def packages() -> dict:
    """Installed versions of the packages results depend on (None where one is missing)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


# Vector-instruction flags of /proc/cpuinfo that change how fast (and how rounded) runs are:
# machines of one kind differ here (AVX2 vs AVX-512: about 1.7x in fp32 peak).
VECTOR_FLAGS = ("sse2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile")


def parse_cpuinfo(text: str) -> dict:
    """Model name, flags, "cpu MHz" of the first processor, processor count (/proc/cpuinfo)."""
    first: dict[str, str] = {}
    processors = 0
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "processor":
            processors += 1
        if processors <= 1 and key not in first:
            first[key] = value
    mhz = first.get("cpu MHz")
    return {"model_name": first.get("model name", "unknown"),
            "flags": frozenset(first.get("flags", "").split()),
            "cpu_mhz": float(mhz) if mhz else None,
            "processors": processors}


def cpu_model() -> dict:
    """{"cpu_model", "vector_flags"} of this machine from /proc/cpuinfo (unknown elsewhere)."""
    try:
        info = parse_cpuinfo(Path("/proc/cpuinfo").read_text())
    except OSError:
        return {"cpu_model": "unknown", "vector_flags": []}
    return {"cpu_model": info["model_name"],
            "vector_flags": [f for f in VECTOR_FLAGS if f in info["flags"]]}


def hardware(device: str | None = None) -> dict:
    """CPU (model and vector flags), core count, platform, Python and (where used) the GPU."""
    info = {
        "cpu": platform.processor() or platform.machine(),
        **cpu_model(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "hostname": platform.node(),
        "device": device or "cpu",
    }
    if device and device.startswith("cuda"):
        import torch

        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def command_line(argv: list[str] | None = None) -> str:
    """The command this process runs, as a user would type it: `compbench ...` for the console
    script, `python SCRIPT ...` otherwise (shell-quoted)."""
    import shlex

    argv = list(sys.argv if argv is None else argv)
    head = Path(argv[0]).name if argv else ""
    if head == "compbench":
        return shlex.join(["compbench", *argv[1:]])
    return shlex.join(["python", *argv]) if argv else ""


def ray_node_id() -> str | None:
    """Id of the Ray node this process runs on when it is a Ray worker (a task); else None."""
    ray = sys.modules.get("ray")  # a process that never imported Ray is no Ray worker
    if ray is None or not ray.is_initialized():
        return None
    context = ray.get_runtime_context()
    if context.worker.mode != ray.WORKER_MODE:  # the driver, e.g. a serial run beside a Ray
        return None
    return context.get_node_id()


def collect(device: str | None = None) -> dict:
    """Everything above in one JSON-ready dict."""
    return {"git": git(), "packages": packages(), "hardware": hardware(device),
            "ray_node_id": ray_node_id()}
