"""The report's figures as a reader sees them: no text of a figure overlaps another (titles,
axis and tick labels, legends), on tables shaped like the confirm suite's and a radius dial."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from leaderboard import plots
from leaderboard.plans import dials

DOCS = Path(__file__).resolve().parent.parent / "docs"


def undrawn_tick_labels(fig) -> set[int]:
    """ids of the tick labels Matplotlib does not draw: ticks outside their axis's view."""
    hidden = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            span = (hi - lo) * 1e-9
            for tick in (*axis.get_major_ticks(), *axis.get_minor_ticks()):
                if not lo - span <= tick.get_loc() <= hi + span:
                    hidden |= {id(tick.label1), id(tick.label2)}
    return hidden


def overlaps(fig) -> list[tuple[str, str]]:
    """Pairs of drawn, non-empty texts of `fig` whose boxes intersect (by more than a pixel or
    two)."""
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    hidden = undrawn_tick_labels(fig)
    boxes = []
    for text in fig.findobj(Text):
        if (text.get_visible() and text.get_text().strip() and text.get_alpha() != 0
                and id(text) not in hidden):
            box = text.get_window_extent(renderer).expanded(1.0, 1.0)
            if box.width > 0 and box.height > 0:
                boxes.append((text.get_text(), box.shrunk(0.98, 0.9)))
    return [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2) if ba.overlaps(bb)]


@pytest.fixture(scope="module")
def confirm_runs() -> pd.DataFrame:
    return pd.read_csv(DOCS / "confirm" / "runs.csv")


@pytest.fixture(scope="module")
def v2_cells() -> list[dict]:
    import json

    doc = json.loads((DOCS / "confirm" / "report.json").read_text())
    cells = doc["analysis"]["v2"]["tables"][0]
    return [dict(zip(cells["columns"], row, strict=True)) for row in cells["rows"]]


def test_the_overlap_check_can_fail():
    fig = plots._placeholder_figure("one")
    fig.axes[0].text(0.5, 0.5, "two", ha="center", va="center")
    assert overlaps(fig) == [("one", "two")]


@pytest.mark.parametrize("task", ["length", "length-single"])
def test_failure_modes_and_accuracy_curves_have_no_overlapping_text(confirm_runs, task):
    for fig in (plots.failure_modes_figure(confirm_runs, task),
                plots.accuracy_vs_k_figure(confirm_runs, task)):
        assert overlaps(fig) == []


def test_long_variant_labels_do_not_overprint(confirm_runs):
    """Rows whose variants differ get labels such as `unet-film (adam_beta2=0.99, ...)`."""
    runs = confirm_runs.copy()
    long = "quick+train_kernels=compiled+arch:adam_beta2=0.99+lr_schedule=linear+sigma_sampling="
    runs.loc[runs["seed"] == 1, "variant"] = long + "antithetic"
    runs.loc[runs["seed"] == 2, "variant"] = long + "independent+loss_weighting=min_snr"
    # A three-line title in the first row, under the figure's title.
    runs.loc[(runs["arch"] == "conv-heatmap-rf13") & (runs["seed"] == 3), "variant"] = long + "x"
    for fig in (plots.failure_modes_figure(runs, "length-single"),
                plots.accuracy_vs_k_figure(runs, "length-single"),
                plots.locality_scatter_figure(runs)):
        assert overlaps(fig) == []


def test_failure_modes_wrap_at_four_panels_a_row(confirm_runs):
    fig = plots.failure_modes_figure(confirm_runs, "length-single")  # 8 architectures
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == 8 and len({round(ax.get_position().y0, 3) for ax in panels}) == 2


def test_scatters_have_no_overlapping_text(confirm_runs, v2_cells):
    assert overlaps(plots.locality_scatter_figure(confirm_runs)) == []
    assert overlaps(plots.cells_figure(v2_cells, confirm_runs)) == []


def test_the_dial_figure_has_no_overlapping_text():
    rows = [{"task": "length-single", "arch": "unet-xattn-local", "seed": s, "status": "ok",
             "variant": f"quick+arch:radius={r}", "hp_radius": r, "ood_acc": 0.7 - r / 2,
             "train_acc": 0.9, "cond_locality_ablation": 0.95, "cond_interference": r / 10}
            for r in (0.08, 0.15, 0.3, 0.6, 0.99) for s in (4, 5, 6)]
    (t,) = dials.dials(pd.DataFrame(rows))
    points = [{"value": row[0], **dict(zip(dials.SCORES, row[3:], strict=True))}
              for row in t.rows]
    assert overlaps(plots.dial_figure("length-single / unet-xattn-local", "radius",
                                      points)) == []


def test_a_figure_is_drawn_alike_whatever_was_drawn_before(confirm_runs):
    import matplotlib

    before = dict(matplotlib.rcParams)
    first = plots.failure_modes(confirm_runs, "length")
    plots.locality_scatter(confirm_runs)  # a whitegrid figure in between
    assert plots.failure_modes(confirm_runs, "length") == first
    assert dict(matplotlib.rcParams) == before  # the caller's settings are left as they were


def test_variants_are_listed_in_natural_order_with_one_color_each():
    from matplotlib.colors import to_hex

    runs = pd.read_csv(DOCS / "confirm-v3" / "runs.csv")
    curves = plots.accuracy_vs_k_figure(runs, "length-single")
    handles, labels = curves.axes[0].get_legend_handles_labels()
    labels, handles = labels[1:], handles[1:]  # after the shaded train range
    assert labels == ["unet-xattn", *(f"unet-xattn-local (radius={r})"
                                      for r in (0.08, 0.15, 0.3, 0.6, 0.99))]
    color = {label: to_hex(h.get_color()) for label, h in zip(labels, handles, strict=True)}
    scatter = plots.locality_scatter_figure(runs)
    points = dict(zip(*scatter.axes[0].get_legend_handles_labels()[::-1], strict=True))
    shared = [label for label in labels if label in points]
    assert len(shared) == 5  # radius 0.99's runs are all under-trained: hollow, not in the hue
    for label in shared:  # the same variant, the same color in both figures
        assert to_hex(points[label].get_markerfacecolor()) == color[label], label
