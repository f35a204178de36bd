"""An outside denoiser (or a checkpoint) as the probes see a model: the adapter, its weights'
digest, and the checks one tiny trial batch makes before a scoring runs (the factory imports and
returns a callable, D takes (x, sigma, tokens, mask) and returns a finite tensor of x's shape,
and torch.func can differentiate it)."""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from pathlib import Path

import torch

from bench.core import seeds
from bench.core.seeds import Probe
from bench.results import schema
from bench.results.store import METRICS
from bench.run import checkpoint, plugins
from bench.run.score_spec import ScoreError

TRIAL_SIGMAS = (0.5, 5.0)  # noise levels of the two samples of the trial batch
TRIAL_LENGTHS = (1, 2)  # object counts of its two scenes


class Outside:
    """An outside denoiser as the probes see a model: called as D(x, sigma, tokens, mask), with
    its parameters (none for a plain callable), conditioning, config and, where it has them,
    features() and a stated locality radius."""

    def __init__(self, D, label: str, path: str):
        self.D = D
        self.conditioning = getattr(D, "conditioning", "joint")
        radius = getattr(D, "locality_radius", None)
        self.locality_radius = float(radius) if isinstance(radius, int | float) else None
        own = getattr(D, "config", None)
        try:
            own = json.loads(json.dumps(own))
        except (TypeError, ValueError):
            own = repr(own)
        self.config = {"name": label, "denoiser": path, "config": own}
        if callable(getattr(D, "features", None)):
            self.features = D.features

    def __call__(self, x, sigma, tokens, mask):
        return self.D(x, sigma, tokens, mask)

    def parameters(self):
        """The wrapped module's parameters (none for a plain callable)."""
        return self.D.parameters() if isinstance(self.D, torch.nn.Module) else iter(())


def weights_sha256(model) -> str | None:
    """sha256 over an nn.Module's state_dict (names, dtypes, shapes and bytes, in name order);
    None where there is no state (a plain callable, or a module without parameters or buffers)."""
    module = model.D if isinstance(model, Outside) else model
    state = module.state_dict() if isinstance(module, torch.nn.Module) else {}
    if not state:
        return None
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        data = t.reshape(-1).view(torch.uint8).numpy().tobytes()
        h.update(f"{name}\0{t.dtype}\0{tuple(t.shape)}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def n_params(model) -> int:
    """Number of parameters (0 for a plain callable)."""
    return sum(p.numel() for p in model.parameters())


# Loading and checking.

def load_denoiser(path: str, task, label: str) -> Outside:
    """factory(task) of `package.module:factory`, wrapped (ScoreError on --denoiser)."""
    try:
        factory = plugins.load_object(path)
    except plugins.PluginError as err:
        raise ScoreError(str(err).replace("plugin ", "denoiser ", 1), "--denoiser") from None
    try:
        D = factory(task)
    except Exception as err:
        raise ScoreError(f"denoiser {path!r}: factory(task) raised {type(err).__name__}: {err} "
                         "(--denoiser names a factory that takes the task and returns "
                         "D(x, sigma, tokens, mask))", "--denoiser") from None
    if not callable(D):
        raise ScoreError(f"denoiser {path!r}: factory(task) returned {D!r:.60} "
                         f"({type(D).__name__}), which is not callable; it must return "
                         "D(x, sigma, tokens, mask) or an nn.Module", "--denoiser")
    if isinstance(D, torch.nn.Module):
        D.eval()
    return Outside(D, label, path)


def load_checkpoint(path: str | Path, device: str):
    """(model, its RunSpec, the file's bytes) of a checkpoint (ScoreError on --checkpoint)."""
    try:
        model, spec = checkpoint.load(path, device=device)
    except Exception as err:
        # torch.load's messages run on for a page: keep their first sentence.
        first = re.split(r"(?<=\.)\s", str(err).strip(), maxsplit=1)[0][:160]
        raise ScoreError(f"{str(path)!r} is not a compbench checkpoint ({type(err).__name__}: "
                         f"{first})", "--checkpoint") from None
    return model, spec, Path(path).read_bytes()


def _origin(path: Path) -> tuple[str | None, dict | None]:
    """(run id, provenance) of the run directory a checkpoint lies in, if it lies in one."""
    try:
        m = schema.Metrics.from_json(json.loads((path.parent / METRICS).read_text()))
    except (OSError, ValueError, TypeError):
        return None, None
    return (m.run_id, m.provenance) if m.run_id == path.parent.name else (None, None)


def trial_batch(task, device) -> tuple[torch.Tensor, ...]:
    """Two noised test scenes (k = 1 and 2) of the locality probe's seeds -> x, sigma, tokens,
    mask."""
    scenes = [task.scenes("test", min(k, task.max_objects), 1,
                          seeds.probe(0, k, Probe.SCENES))[0] for k in TRIAL_LENGTHS]
    x0 = torch.from_numpy(task.render(scenes)) * 2 - 1  # (2, 3, R, R)
    gen = torch.Generator().manual_seed(seeds.probe(0, 0, Probe.NOISE))
    sigma = torch.tensor(TRIAL_SIGMAS, dtype=torch.float32)  # (2,)
    x = x0 + sigma.view(-1, 1, 1, 1) * torch.randn(x0.shape, generator=gen)  # (2, 3, R, R)
    tokens, mask = (torch.from_numpy(a) for a in task.conditioners(scenes))  # (2, 1+K, D), (2, 1+K)
    return tuple(t.to(device) for t in (x, sigma, tokens, mask))


def _signature_problem(D) -> str | None:
    """Why D cannot be called as D(x, sigma, tokens, mask), if its signature says so."""
    fn = D.D if isinstance(D, Outside) else D
    fn = fn.forward if isinstance(fn, torch.nn.Module) else fn
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None  # no signature to read: the trial call decides
    try:
        signature.bind("x", "sigma", "tokens", "mask")
    except TypeError as err:
        return f"its signature {signature} does not take (x, sigma, tokens, mask): {err}"
    return None


def check_denoiser(model, denoiser, task, device, what: str, option: str) -> None:
    """The trial batch through the model and its sampling denoiser (ScoreError naming what is
    wrong): signature, a tensor of x's shape, floating and finite, differentiable by torch.func."""
    problem = _signature_problem(model)
    if problem:
        raise ScoreError(f"{what}: {problem}", option)
    x, sigma, tokens, mask = trial_batch(task, device)
    shape = tuple(x.shape)
    try:
        with torch.no_grad():
            out = model(x, sigma, tokens, mask)
    except Exception as err:
        raise ScoreError(f"{what}: D(x, sigma, tokens, mask) on a batch of {shape[0]} (x {shape}) "
                         f"raised {type(err).__name__}: {err}", option) from None
    if not isinstance(out, torch.Tensor):
        raise ScoreError(f"{what}: D returned a {type(out).__name__}, not a tensor of shape "
                         f"{shape}", option)
    if tuple(out.shape) != shape:
        raise ScoreError(f"{what}: D returned shape {tuple(out.shape)} for x of shape {shape}; it "
                         "must return x's shape (B, 3, R, R)", option)
    if not out.is_floating_point():
        raise ScoreError(f"{what}: D returned dtype {out.dtype}, not a floating tensor", option)
    bad = int((~torch.isfinite(out)).sum())
    if bad:
        raise ScoreError(f"{what}: D returned non-finite values ({bad} of {out.numel()} NaN or "
                         "inf) on the trial batch", option)
    try:
        torch.func.vjp(lambda x_: denoiser(x_, sigma, tokens, mask), x)
        torch.func.jvp(lambda t: denoiser(x, sigma, t, mask), (tokens,), (torch.ones_like(tokens),))
    except Exception as err:
        raise ScoreError(f"{what}: the locality probes differentiate D with torch.func (a VJP in "
                         f"x, a JVP in the tokens), which failed: {type(err).__name__}: {err}",
                         option) from None
