"""The noise levels a scoring can ask of a model that states its range (every adapter of
bench.run.adapters does, as `sigma_range = (sigma_min, sigma_max)`): the sampler runs on the
intersection of the profile's [sigma_min, sigma_max] and the model's, and a probe sigma outside
the model's range is clamped to it, counted and recorded, never silently.

"Clamped" means: the probe's input keeps its noise level sigma (every model sees the same x), and
the model is asked at the nearest end of its range (bench.run.adapters.schedules.clamp, the rule
the adapters apply). A denoiser that states no range is scored as before: nothing here applies.
"""

from __future__ import annotations

import json
import math

from bench.metrics.locality import SIGMAS
from bench.metrics.pictures import PICTURE_SIGMAS
from bench.results import schema
from bench.run.outside import TRIAL_SIGMAS
from bench.run.score_spec import ScoreError

RULE = ("outside [sigma_min, sigma_max] the model is asked at the nearest end; the probe's input "
        "keeps its sigma")


def declared(D, what: str) -> tuple[float, float] | None:
    """The range a denoiser states (`sigma_range`), checked (ScoreError of --denoiser); None
    where it states none."""
    rng = getattr(D, "sigma_range", None)
    if rng is None:
        return None
    try:
        lo, hi = (float(v) for v in rng)
    except (TypeError, ValueError):
        lo = hi = math.nan
    if not 0.0 < lo < hi < math.inf:
        raise ScoreError(f"{what}: sigma_range must be (sigma_min, sigma_max) with 0 < sigma_min "
                         f"< sigma_max < inf, got {rng!r}", "--denoiser")
    return lo, hi


def check_overlap(spec, what: str) -> tuple[float, float]:
    """The sampled range of an adapted scoring (ScoreSpec.sampled_range); ScoreError where the
    model's range and the profile's do not meet."""
    lo, hi = spec.sampled_range()
    if not lo < hi:
        model = json.loads(spec.adapted)["sigma_range"]
        p = spec.profile_given()
        raise ScoreError(f"{what}: its sigma range [{model[0]:.4g}, {model[1]:.4g}] does not meet "
                         f"the profile's sampler range [{p.sigma_min:.4g}, {p.sigma_max:.4g}]; "
                         "set the profile's with --set sigma_min=... --set sigma_max=...",
                         "--denoiser")
    return lo, hi


def probe_sigmas(task) -> dict[str, tuple[float, ...]]:
    """The noise levels each probe of a scoring asks (bench.run.execute.probe_stages and the
    check): the trial batch, locality, the attribute probe (tasks that condition on color) and
    the locality pictures."""
    probes = {"check": tuple(TRIAL_SIGMAS), "locality": tuple(SIGMAS)}
    if getattr(task, "conditions_on_color", False):
        probes["attributes"] = tuple(SIGMAS)
    probes["pictures"] = tuple(PICTURE_SIGMAS)
    return probes


def record(model: tuple[float, float], profile: tuple[float, float],
           sampled: tuple[float, float], task) -> schema.SigmaRange:
    """metrics.json's sigma_range: the three ranges, the rule, and per probe its sigmas and the
    [asked, used] pairs it clamped."""
    lo, hi = model
    probes = {name: {"sigmas": list(sigmas),
                     "clamped": [[s, min(max(s, lo), hi)] for s in sigmas if not lo <= s <= hi]}
              for name, sigmas in probe_sigmas(task).items()}
    return {"model": list(model), "profile": list(profile), "sampled": list(sampled),
            "rule": RULE, "probes": probes,
            "n_clamped": sum(len(p["clamped"]) for p in probes.values())}


def line(r: schema.SigmaRange) -> str:
    """The one line a scoring prints about its noise levels."""
    (a, b), (p, q), (m, n) = r["sampled"], r["profile"], r["model"]
    total = sum(len(p_["sigmas"]) for p_ in r["probes"].values())
    clamped = "; ".join(f"{name} {len(v['clamped'])}" for name, v in r["probes"].items()
                        if v["clamped"])
    return (f"sampling sigma in [{a:.4g}, {b:.4g}]: the profile's [{p:.4g}, {q:.4g}] within the "
            f"model's [{m:.4g}, {n:.4g}]; probe sigmas clamped to the model's range: "
            f"{r['n_clamped']} of {total}" + (f" ({clamped})" if clamped else ""))
