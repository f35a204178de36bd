"""Short labels for leaderboard rows: a row's variant (bench.results.variant.Variant) shown by
what differs between the rows beside it. Training kernels and memory format change rounding, not
the experiment, so they stay out of headings and legends (the full label is kept in the table and
its tooltip)."""

from __future__ import annotations

from bench.results.variant import Variant

ROUNDING_ONLY = ("train_kernels=", "train_memory_format=")


def short_labels(variants) -> dict[str, str]:
    """variant -> the parts that differ between `variants` (rounding-only ones left out), or the
    profile name where nothing differs but the profile."""
    variants = list(dict.fromkeys(str(v) for v in variants))
    parsed = {v: Variant.parse(v) for v in variants}
    split = {v: [p for p in parsed[v].parts() if not p.startswith(ROUNDING_ONLY)]
             for v in variants}
    common = set.intersection(*(set(p) for p in split.values())) if split else set()
    profiles = {p.profile for p in parsed.values()}
    return {v: ", ".join(([parsed[v].profile] if len(profiles) > 1 else [])
                         + [p for p in split[v] if p not in common]) for v in variants}
