"""Denoiser architectures, one module per family; importing the package registers every preset."""

from baselines.registry import REGISTRY, describe, get, names, register
from tasks.registry import UnknownNameError

# Importing each family module registers its presets.
from baselines import composable, conv, dit, unet  # noqa: E402, F401, I001

__all__ = ["REGISTRY", "UnknownNameError", "describe", "get", "names", "register"]
