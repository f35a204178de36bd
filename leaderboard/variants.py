"""Short labels for leaderboard rows: a row's variant (profile + overrides + architecture
hyperparameters, `leaderboard.aggregate.variant`) shown by what differs between the rows beside
it. Training kernels and memory format change rounding, not the experiment, so they stay out of
headings and legends (the full label is kept in the table and its tooltip)."""

from __future__ import annotations

ROUNDING_ONLY = ("train_kernels=", "train_memory_format=")


def parts(variant: str) -> list[str]:
    """A variant's parts after its profile: `key=value` overrides and `radius=0.3` for
    `arch:radius=0.3`."""
    return [p.removeprefix("arch:") for p in str(variant).split("+")[1:]]


def short_labels(variants) -> dict[str, str]:
    """variant -> the parts that differ between `variants` (rounding-only ones left out), or the
    profile name where nothing differs but the profile."""
    variants = list(dict.fromkeys(str(v) for v in variants))
    split = {v: [p for p in parts(v) if not p.startswith(ROUNDING_ONLY)] for v in variants}
    common = set.intersection(*(set(p) for p in split.values())) if split else set()
    profiles = {v.split("+")[0] for v in variants}
    out = {}
    for v in variants:
        differing = [p for p in split[v] if p not in common]
        profile = v.split("+")[0]
        out[v] = ", ".join(([profile] if len(profiles) > 1 else []) + differing)
    return out


def arch_parts(variant: str) -> str:
    """The architecture hyperparameters of a variant (`radius=0.3`), what a local twin's row
    adds to its global twin's."""
    return ", ".join(p.removeprefix("arch:") for p in str(variant).split("+")[1:]
                     if p.startswith("arch:"))
