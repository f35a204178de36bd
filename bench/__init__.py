"""compbench harness: CLI, diffusion core, training, sampling, locality metrics, runner, results."""

__version__ = "0.1.0"
