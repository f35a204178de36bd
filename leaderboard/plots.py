"""Report figures (seaborn), returned as PNG bytes."""

from __future__ import annotations

import functools
import re
import textwrap

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter

from bench.results.definitions import ALL_OUTCOMES
from bench.results.io import figure_png
from leaderboard import competence
from leaderboard.variants import short_labels


def _png(fig) -> bytes:
    return figure_png(fig, dpi=100, bbox_inches="tight")


def _themed(style: str):
    """Draw the decorated figure in seaborn's `style`, whatever the caller's matplotlib settings
    or the figures drawn before it; the caller's settings are restored afterwards."""
    def decorate(make):
        @functools.wraps(make)
        def themed(*args, **kwargs):
            with matplotlib.rc_context():
                sns.set_theme(style=style)
                return make(*args, **kwargs)
        return themed
    return decorate


def _natural(label: str) -> list:
    """Sort key that orders the numbers inside labels by value: radius=0.08 before 0.15."""
    return [float(part) if i % 2 else part
            for i, part in enumerate(re.split(r"(\d+(?:\.\d+)?)", str(label)))]


def _palette(labels) -> dict[str, tuple]:
    """label -> color, in natural order over every label of a figure's data (so a variant keeps
    its color whether or not some of its runs are drawn hollow)."""
    order = sorted(set(labels), key=_natural)
    return dict(zip(order, sns.color_palette("tab10", len(order)), strict=True))


def _figure(figsize):
    """(figure, axes) made without pyplot: no backend is chosen, nothing is left open."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots()


def _placeholder_figure(text: str) -> Figure:
    fig, ax = _figure((5, 1.2))
    ax.text(0.5, 0.5, text, ha="center", va="center")
    ax.set_axis_off()
    return fig


def _placeholder(text: str) -> bytes:
    return _png(_placeholder_figure(text))


def _labelled(data: pd.DataFrame) -> pd.DataFrame:
    """Arch labels carry what differs between the variants shown (e.g. `radius=0.3`; training
    kernels and layout, which change rounding only, never)."""
    if "variant" in data and data["variant"].nunique() > 1:
        short = short_labels(data["variant"])
        label = data["variant"].map(lambda v: short[str(v)])
        data = data.assign(arch=[f"{a} ({x})" if x else a
                                 for a, x in zip(data["arch"], label, strict=True)])
    return data


def scatter_data(runs: pd.DataFrame, x: str = "cond_locality", y: str = "ood_acc"
                 ) -> pd.DataFrame:
    """The points of `locality_scatter`: finished runs with finite x and y, and `under_trained`
    by the one competence rule (competence.CURRENT)."""
    data = runs[(runs["status"] == "ok")] if "status" in runs else runs
    if x not in data or y not in data:
        return data.iloc[0:0]
    data = data[np.isfinite(data[x].astype(float)) & np.isfinite(data[y].astype(float))]
    return data.assign(under_trained=~competence.CURRENT.competent(data))


@_themed("whitegrid")
def locality_scatter_figure(runs: pd.DataFrame, x: str = "cond_locality",
                            y: str = "ood_acc") -> Figure:
    """`x` vs `y`, a point per finished run: arch color, task marker, named in the legend (no
    labels on the points, which overprint in a cluster); under-trained runs (left out of the
    exploratory correlation) as hollow grey circles, so the reader sees what was left out."""
    data = _labelled(scatter_data(runs, x, y)) if x in runs and y in runs else runs.iloc[0:0]
    if data.empty:
        return _placeholder_figure(f"no runs with finite {x} and {y}")
    under = data["under_trained"]
    fig, ax = _figure((8.5, 4.6))
    if (~under).any():
        palette = _palette(data["arch"])
        shown = [a for a in palette if a in set(data.loc[~under, "arch"])]
        sns.scatterplot(data=data[~under], x=x, y=y, hue="arch", hue_order=shown,
                        palette=palette, style="task", s=70, ax=ax)
    if under.any():
        ax.scatter(data.loc[under, x], data.loc[under, y], s=70, facecolors="none",
                   edgecolors="0.45", label=f"under-trained (not {competence.CURRENT.label})")
    ax.set_xlabel(f"{x} (OOD)")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=7, bbox_to_anchor=(1.02, 1), loc="upper left")
    fig.subplots_adjust(left=0.08, right=0.62, bottom=0.12, top=0.95)
    return fig


def locality_scatter(runs: pd.DataFrame, x: str = "cond_locality", y: str = "ood_acc") -> bytes:
    """locality_scatter_figure as PNG bytes."""
    return _png(locality_scatter_figure(runs, x, y))


@_themed("whitegrid")
def cells_figure(cells: list[dict], runs: pd.DataFrame, x: str = "cond_locality_ablation",
                 y: str = "ood_acc") -> Figure:
    """The v2 unit: a point per cell (task x arch; seed mean), the seeds' range as error bars in
    both directions, eligible cells filled, the others hollow."""
    if not cells:
        return _placeholder_figure("no v2 cells")
    fig, ax = _figure((8.5, 4.6))
    markers = {"length": "o", "length-single": "s"}
    done = runs[runs["status"] == "ok"] if "status" in runs else runs
    palette = _palette(c["arch"] for c in cells)
    for c in cells:
        if c.get(x) is None or c.get(y) is None:
            continue
        seeds = done[(done["task"] == c["task"]) & (done["arch"] == c["arch"])
                     & done["seed"].isin(c.get("seeds") or [])]
        xs = pd.to_numeric(seeds[x], errors="coerce")
        ys = pd.to_numeric(seeds[y], errors="coerce")
        color = palette[c["arch"]]
        ax.errorbar(c[x], c[y], xerr=np.clip([[c[x] - xs.min()], [xs.max() - c[x]]], 0, None),
                    yerr=np.clip([[c[y] - ys.min()], [ys.max() - c[y]]], 0, None), fmt="none",
                    ecolor=color, alpha=0.5, lw=1)
        ax.scatter(c[x], c[y], s=60, marker=markers.get(c["task"], "^"), color=color,
                   facecolors=color if c.get("eligible") else "none", zorder=3)
    handles = [Line2D([], [], ls="", marker="o", color=col, label=arch)
               for arch, col in palette.items()]
    handles += [Line2D([], [], ls="", marker=m, color="0.3", label=t) for t, m in markers.items()]
    ax.legend(handles=handles, fontsize=7, bbox_to_anchor=(1.02, 1), loc="upper left")
    ax.set_xlabel(f"{x} (OOD; cell mean, bars: the seeds' range)")
    ax.set_ylabel(f"{y} (cell mean)")
    ax.set_ylim(-0.05, 1.05)
    fig.subplots_adjust(left=0.08, right=0.7, bottom=0.12, top=0.95)
    return fig


def cells(cells_: list[dict], runs: pd.DataFrame) -> bytes:
    """cells_figure as PNG bytes."""
    return _png(cells_figure(cells_, runs))


@_themed("whitegrid")
def accuracy_vs_k_figure(runs: pd.DataFrame, task: str, train_lengths=(1, 3)) -> Figure:
    """Accuracy per test length k per arch (mean over seeds, 95 % band), train range shaded."""
    data = _labelled(runs[(runs["task"] == task) & (runs["status"] == "ok")])
    cols = sorted((c for c in data.columns if c.startswith("acc_k") and c[5:].isdigit()),
                  key=lambda c: int(c[5:]))
    if data.empty or not cols:
        return _placeholder_figure(f"no finished runs of {task}")
    long = data.melt(id_vars=["arch", "seed"], value_vars=cols, var_name="k", value_name="acc")
    long["k"] = long["k"].str[5:].astype(int)
    long = long.dropna(subset=["acc"])
    fig, ax = _figure((7.5, 4))
    ax.axvspan(train_lengths[0] - 0.5, train_lengths[1] + 0.5, color="0.85", zorder=0,
               label="train range")
    palette = _palette(long["arch"])
    sns.lineplot(data=long, x="k", y="acc", hue="arch", hue_order=list(palette), palette=palette,
                 marker="o", errorbar=("ci", 95), ax=ax)
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(f"{task}: accuracy vs number of objects k")
    ax.legend(fontsize=7, bbox_to_anchor=(1.02, 1), loc="upper left")
    return fig


def accuracy_vs_k(runs: pd.DataFrame, task: str, train_lengths=(1, 3)) -> bytes:
    """accuracy_vs_k_figure as PNG bytes."""
    return _png(accuracy_vs_k_figure(runs, task, train_lengths))


OUTCOME_COLORS = dict(zip(ALL_OUTCOMES, ("#4c9a2a", "#2b83ba", "#a6d96a", "#fdae61", "#f46d43",
                                         "#9e0142", "#555555"), strict=True))


MAX_PANELS_PER_ROW = 4
TITLE_WIDTH = 34  # characters a panel title wraps at (an arch with what differs in its variant)


@_themed("ticks")
def failure_modes_figure(runs: pd.DataFrame, task: str) -> Figure:
    """Per architecture, the share of labelled objects in each evaluator outcome against k
    (stacked, mean over seeds), and extras per sample (dashed, right axis): how a model fails.
    A grid of at most four panels a row, shared axes, the legend below the grid."""
    data = _labelled(runs[(runs["task"] == task) & (runs["status"] == "ok")])
    ks = sorted({int(c.rsplit("_k", 1)[1]) for c in data.columns
                 if c.startswith("share_clean_k")} - {0})
    if data.empty or not ks:
        return _placeholder_figure(f"no per-object outcomes for {task} (results before task "
                                   "version 2)")
    archs = sorted(data["arch"].unique(), key=_natural)
    outcomes = [o for o in ALL_OUTCOMES if f"share_{o}_k{ks[0]}" in data]  # the task's own
    ncols = min(MAX_PANELS_PER_ROW, len(archs))
    nrows = -(-len(archs) // ncols)
    lines = max(textwrap.fill(a, TITLE_WIDTH).count("\n") + 1 for a in archs)
    fig = Figure(figsize=(3.0 * ncols + 0.6, (2.5 + 0.12 * lines) * nrows + 1.1))
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    top = max(1.0, max(pd.to_numeric(data.get(f"n_extra_k{k}"), errors="coerce").max()
                       for k in ks))
    extras_axes = []
    for i, ax in enumerate(axes):
        if i >= len(archs):
            ax.set_axis_off()
            continue
        rows = data[data["arch"] == archs[i]]
        shares = np.array([[pd.to_numeric(rows.get(f"share_{o}_k{k}"), errors="coerce").mean()
                            for k in ks] for o in outcomes])  # (outcomes, ks)
        ax.stackplot(ks, np.nan_to_num(shares), colors=[OUTCOME_COLORS[o] for o in outcomes],
                     labels=outcomes)
        extras = ax.twinx()
        extras.plot(ks, [pd.to_numeric(rows.get(f"n_extra_k{k}"), errors="coerce").mean()
                         for k in ks], "k--o", ms=3, label="extras per sample")
        extras.set_ylim(0, top)
        if i % ncols != ncols - 1 and i != len(archs) - 1:
            extras.tick_params(labelright=False)
        extras_axes.append(extras)
        ax.set_title(textwrap.fill(archs[i], TITLE_WIDTH), fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_xticks(ks)
        if i // ncols == nrows - 1 or i + ncols >= len(archs):  # no panel below it
            ax.set_xlabel("k")
            ax.tick_params(labelbottom=True)
        if i % ncols == 0:
            ax.set_ylabel("share of labelled objects", fontsize=8)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend([*handles, extras_axes[0].get_lines()[0]],
               [*labels, "extras per sample (right axis)"], loc="lower center",
               ncol=len(outcomes) + 1, fontsize=7, frameon=False)
    height = fig.get_figheight()
    fig.suptitle(f"{task}: how samples fail, per object outcome", fontsize=9,
                 y=1 - 0.06 / height, va="top")
    fig.subplots_adjust(left=0.07, right=0.93, top=1 - (0.4 + 0.14 * lines) / height,
                        bottom=0.75 / height, wspace=0.35,
                        hspace=0.5 + 0.12 * lines if nrows > 1 else 0.2)
    return fig


def failure_modes(runs: pd.DataFrame, task: str) -> bytes:
    """failure_modes_figure as PNG bytes."""
    return _png(failure_modes_figure(runs, task))


@_themed("whitegrid")
def trajectories_figure(runs: list[dict], title: str) -> Figure:
    """Placed accuracy and the two OOD locality scores against training step (log x), a panel
    each, a line per run (entries of leaderboard.trajectory.summary)."""
    from leaderboard.trajectory import LABELS, SCORES

    mixed = len({r["variant"] for r in runs}) > 1
    ticks = sorted({p["step"] for r in runs for p in r["points"]})
    fig = Figure(figsize=(3.2 * len(SCORES) + 1.2, 2.8))
    axes = fig.subplots(1, len(SCORES), squeeze=False)[0]
    for ax, score in zip(axes, SCORES, strict=True):
        lowest = 0.0
        for run in runs:
            steps = [p["step"] for p in run["points"]]
            values = np.array([np.nan if p[score] is None else p[score] for p in run["points"]],
                              dtype=float)  # (points,)
            label = f"seed {run['seed']}" + (f" ({run['variant']})" if mixed else "")
            ax.plot(steps, values, marker="o", ms=3, label=label)
            lowest = min(lowest, np.nanmin(values, initial=0.0))
        ax.set_xscale("log")
        ax.set_xticks(ticks, [str(t) for t in ticks], fontsize=6, rotation=45)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_ylim(lowest - 0.05, 1.05)
        ax.set_xlabel("training step")
        ax.set_title(LABELS[score], fontsize=8)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center right", fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.subplots_adjust(right=1 - 1.2 / fig.get_figwidth(), wspace=0.3, top=0.82, bottom=0.25)
    return fig


def trajectories(runs: list[dict], title: str) -> bytes:
    """trajectories_figure as PNG bytes."""
    return _png(trajectories_figure(runs, title))


DIAL_SCORES = (("ood_acc", "ood_acc (placed, k = 4..6)"),
               ("cond_locality_ablation", "cond_locality_ablation (OOD)"),
               ("cond_interference", "cond_interference (OOD)"))


@_themed("whitegrid")
def dial_figure(title: str, parameter: str, points: list[dict],
                scores: tuple[tuple[str, str], ...] = DIAL_SCORES) -> Figure:
    """Each of `scores` (ood_acc, cond_locality_ablation and cond_interference by default)
    against one dial's value (leaderboard.plans.dials): seed mean (line), the seeds' range (error
    bar) and each seed (dots); a log axis where the values are positive and span more than a
    factor of 5."""
    values = np.array([p["value"] for p in points], dtype=float)  # (V,)
    fig = Figure(figsize=(3.7 * len(scores), 3.3))
    axes = fig.subplots(1, len(scores), sharex=True, squeeze=False)[0]
    for ax, (score, label) in zip(axes, scores, strict=True):
        if not all(score in p for p in points):
            ax.text(0.5, 0.5, f"no {score}", ha="center", va="center", transform=ax.transAxes)
            continue
        spread = {k: np.array([np.nan if p[score][k] is None else p[score][k] for p in points],
                              dtype=float) for k in ("mean", "min", "max")}  # each (V,)
        ax.errorbar(values, spread["mean"], yerr=np.clip([spread["mean"] - spread["min"],
                                                          spread["max"] - spread["mean"]], 0, None),
                    marker="o", capsize=3, color="C0", label="seed mean, range")
        for p in points:
            seeds = np.array([np.nan if v is None else v for v in p[score]["values"]], float)
            ax.scatter(np.full(seeds.shape, p["value"]), seeds, s=10, color="0.4", zorder=3)
        if values.min() > 0 and values.max() / values.min() > 5:
            ax.set_xscale("log")
        ax.set_xticks(values, [f"{v:g}" for v in values], fontsize=7)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(parameter)
        ax.set_title(label, fontsize=8)
    fig.suptitle(f"{title}: the {parameter} dial", fontsize=9)
    fig.subplots_adjust(wspace=0.3, top=0.82, bottom=0.2)
    return fig


def dial(title: str, parameter: str, points: list[dict]) -> bytes:
    """dial_figure as PNG bytes."""
    return _png(dial_figure(title, parameter, points))


# Attribute binding (analysis v4's figures): every figure takes plain per-run values.

@_themed("whitegrid")
def seeds_by_arch_figure(values: dict[str, dict[str, list[float]]], ylabel: str) -> Figure:
    """Per architecture (x), one column of dots per series (e.g. held-out and seen combination
    accuracy), a dot per seed, the seed mean as a bar and the seeds' range as a line."""
    archs = list(values)
    series = list(dict.fromkeys(s for v in values.values() for s in v))
    if not archs or not series:
        return _placeholder_figure("no runs")
    fig, ax = _figure((8.5, 3.8))
    width = 0.8 / len(series)
    colors = sns.color_palette("tab10", len(series))
    for j, (name, color) in enumerate(zip(series, colors, strict=True)):
        for i, arch in enumerate(archs):
            seeds = np.array([np.nan if v is None else v for v in values[arch].get(name, [])],
                             dtype=float)  # (seeds,)
            seeds = seeds[np.isfinite(seeds)]
            x = i - 0.4 + width * (j + 0.5)
            if not seeds.size:
                continue
            ax.vlines(x, seeds.min(), seeds.max(), color=color, lw=1.5)
            ax.hlines(seeds.mean(), x - width / 3, x + width / 3, color=color, lw=2.5,
                      label=name if i == 0 else None)
            ax.scatter(np.full(seeds.size, x), seeds, s=14, color=color, zorder=3,
                       edgecolors="white", linewidths=0.5)
    ax.set_xticks(range(len(archs)), [textwrap.fill(a, 14) for a in archs], fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8, bbox_to_anchor=(1.02, 1), loc="upper left",
              title="bar: seed mean; line: range", title_fontsize=7)
    fig.subplots_adjust(left=0.08, right=0.72, bottom=0.18, top=0.95)
    return fig


@_themed("whitegrid")
def runs_against_figure(points: pd.DataFrame, y: str, xs: tuple[str, ...],
                        floors: dict[str, float] | None = None) -> Figure:
    """`y` against each of `xs` (one panel each), a point per run colored by its `arch`; a
    dashed vertical line marks a panel's floor where `floors` gives one."""
    fig = Figure(figsize=(11, 3.8))
    axes = fig.subplots(1, len(xs), sharey=True, squeeze=False)[0]
    palette = _palette(points["arch"]) if len(points) else {}
    for ax, x in zip(axes, xs, strict=True):
        if x not in points or y not in points:
            ax.text(0.5, 0.5, f"no {x if x not in points else y}", ha="center", va="center",
                    transform=ax.transAxes)
            continue
        data = points[np.isfinite(pd.to_numeric(points[x], errors="coerce"))
                      & np.isfinite(pd.to_numeric(points[y], errors="coerce"))]
        for arch, rows in data.groupby("arch", sort=False):
            ax.scatter(rows[x], rows[y], s=40, color=palette[arch], label=arch)
        if floors and x in floors and np.isfinite(floors[x]):
            ax.axvline(floors[x], ls="--", color="0.4", lw=1,
                       label=f"floor: {x}_seen (position alone)")
        ax.set_xlabel(x)
        ax.set_title(f"{y} vs {x}", fontsize=9)
    axes[0].set_ylabel(y)
    axes[0].set_ylim(-0.05, 1.1)
    handles = {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, h)
    if handles:
        fig.legend(list(handles.values()), list(handles), fontsize=7, loc="lower center",
                   ncol=min(4, len(handles)), frameon=False)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.32, top=0.9, wspace=0.12)
    return fig


@_themed("white")
def outcome_bars_figure(shares: pd.DataFrame, outcomes: tuple[str, ...]) -> Figure:
    """Stacked bars of outcome shares, one bar per row of `shares` (its `label` column): how the
    probe objects of held-out and seen combinations come out."""
    if shares.empty:
        return _placeholder_figure("no probe outcomes")
    fig, ax = _figure((8.5, 0.32 * len(shares) + 1.6))
    left = np.zeros(len(shares))  # (rows,)
    y = np.arange(len(shares))[::-1]
    for outcome in outcomes:
        width = np.nan_to_num(pd.to_numeric(shares[outcome], errors="coerce").to_numpy(float))
        ax.barh(y, width, left=left, color=OUTCOME_COLORS[outcome], label=outcome, height=0.8)
        left += width
    ax.set_yticks(y, shares["label"], fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of probe objects")
    ax.legend(fontsize=7, ncol=len(outcomes), loc="lower center", bbox_to_anchor=(0.4, 1.0),
              frameon=False)
    fig.subplots_adjust(left=0.32, right=0.97, bottom=0.6 / (0.32 * len(shares) + 1.6) + 0.12,
                        top=1 - 0.5 / (0.32 * len(shares) + 1.6))
    return fig


def png(fig: Figure) -> bytes:
    """A figure of this module as PNG bytes."""
    return _png(fig)
