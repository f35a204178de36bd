"""Training kernels: how the training loop executes the model and the optimiser (not what it
computes). "eager" is plain PyTorch; "compiled" compiles the forward and backward pass with
torch.compile (Inductor, 1x1 convolutions as matrix products) and steps a fused AdamW. The two
compute the same loss and update; their rounding differs, so the choice is a profile field and
enters the run id. Evaluation always runs the eager model.

The layout is a second choice (`train_memory_format`): NCHW, or channels last for the model's 4-D
weights and the images. The trained models are handed back NCHW.

What the two choices gain was measured in experiments/kernel-speedup: per training step, in
in-process A/B runs, compiled UNets were faster than eager, channels-last or not; the
full-resolution convolutional nets were not (they decline compilation, `compile_training = False`,
and keep only the fused AdamW), but gained from channels-last with the fused AdamW. In whole quick
suites the gain is smaller, and a training on the other core does not slow a run down.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import torch

TRAIN_KERNELS = ("eager", "compiled")
#: How training lays out the model's 4-D weights and the images: NCHW, or channels last (NHWC in
#: memory, which oneDNN's convolutions and a per-pixel layer norm read without copies).
MEMORY_FORMATS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}
TRAIN_MEMORY_FORMATS = tuple(MEMORY_FORMATS)


def cache_dir() -> Path:
    """Where Inductor keeps compiled kernels across processes ($TORCHINDUCTOR_CACHE_DIR, else
    ~/.cache/compbench/inductor): each architecture and batch shape compiles once per machine."""
    return Path(os.environ.get("TORCHINDUCTOR_CACHE_DIR")
                or Path.home() / ".cache" / "compbench" / "inductor")


def training_forward(model: torch.nn.Module, kernels: str) -> Callable:
    """The callable the loss calls: the model itself, or with "compiled" its compiled forward
    (compiled at its first call) unless the model declines (`compile_training = False`).
    `kernels` is a profile's, which Profile has checked."""
    if not compiles(model, kernels):
        return model
    check_compiler()
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir()))
    # Forget graphs compiled for earlier runs in this process (a Ray worker runs many), so a run
    # compiles alike whatever ran before it; the on-disk cache makes a repeat take seconds.
    torch.compiler.reset()
    return torch.compile(model, dynamic=False, options={"conv_1x1_as_mm": True})


def compiles(model: torch.nn.Module, kernels: str) -> bool:
    """Whether `kernels` compile `model`'s forward and backward pass."""
    return kernels == "compiled" and getattr(model, "compile_training", True)


def optimizer(params: list[torch.nn.Parameter], kernels: str, *, lr: float,
              weight_decay: float, beta2: float = 0.999) -> torch.optim.AdamW:
    """AdamW over `params` (beta1 0.9): multi-tensor ("eager") or fused into one kernel
    ("compiled")."""
    impl = {"fused": True} if kernels == "compiled" else {"foreach": True}
    return torch.optim.AdamW(params, lr=lr, betas=(0.9, beta2), weight_decay=weight_decay, **impl)


def check_compiler() -> None:
    """A RuntimeError saying what to do where no C++ compiler is found (Inductor needs one)."""
    names = [os.environ.get("CXX"), "g++", "c++", "clang++"]
    if not any(shutil.which(name) for name in names if name):
        raise RuntimeError("train_kernels='compiled' needs a C++ compiler and none was found "
                           "($CXX, g++, c++, clang++): install g++ (apt-get install g++), or "
                           "train eager with --set train_kernels=eager")


def check(kernels: str, layout: str) -> None:
    """A ValueError naming the valid choices for an unknown kernel set or memory format."""
    if kernels not in TRAIN_KERNELS:
        raise ValueError(f"train_kernels must be one of {TRAIN_KERNELS}, got {kernels!r}")
    if layout not in TRAIN_MEMORY_FORMATS:
        raise ValueError(f"train_memory_format must be one of {TRAIN_MEMORY_FORMATS}, "
                         f"got {layout!r}")
