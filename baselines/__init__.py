"""Denoiser architectures, one module per family; importing the package registers every preset."""

# Importing each family module registers its presets.
from baselines import composable, conv, dit, oracle, unet  # noqa: F401
from baselines.registry import (
    REGISTRY,
    declared_config,
    describe,
    get,
    hparams,
    is_trained,
    names,
    register,
    takes,
)
from compbench.registry import UnknownNameError

__all__ = ["REGISTRY", "UnknownNameError", "declared_config", "describe", "get", "hparams",
           "is_trained", "names", "register", "takes"]
