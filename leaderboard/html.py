"""leaderboard.html: one self-contained page (images embedded as base64 data URIs)."""

from __future__ import annotations

import base64
import html
import math

import pandas as pd

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f0f0f0; } td.name { text-align: left; font-weight: 600; }
tr.under-trained td { color: #999; } .ci { color: #777; font-size: 0.8em; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figcaption { font-size: 0.8em; color: #555; } .stat { font-size: 1.3em; font-weight: 700; }
footer { margin-top: 3em; font-size: 0.8em; color: #666; } .failed { color: #b00; }
"""

# Records every image's natural width in the DOM, so a headless browser can check they all loaded.
SCRIPT = """
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  imgs.forEach(function (img) { img.setAttribute("data-natural-width", img.naturalWidth); });
  document.body.setAttribute("data-images-total", imgs.length);
  document.body.setAttribute("data-images-loaded",
    imgs.filter(function (img) { return img.complete && img.naturalWidth > 0; }).length);
});
"""

TABLE_COLUMNS = [("id_acc", "id acc"), ("ood_acc", "ood acc"), ("cond_locality", "cond locality"),
                 ("cond_locality_ablation", "cond loc. (ablation)"),
                 ("cond_sensitivity", "cond sensitivity"), ("spatial_r50", "spatial r50 (px)"),
                 ("color_acc", "color acc"), ("heldout_pair_acc", "held-out pair acc"),
                 ("feature_entanglement", "feature entanglement"), ("n_params", "params"),
                 ("train_seconds", "train s")]


def esc(value) -> str:
    """HTML-escaped text."""
    return html.escape(str(value))


def fmt(value, digits: int = 3) -> str:
    """A number for display ('—' for missing)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) < 1e4 else f"{value:.3g}"
    return str(value)


def img(png: bytes, alt: str, cls: str = "") -> str:
    """<img> with the PNG embedded."""
    data = base64.b64encode(png).decode()
    return f'<img class="{esc(cls)}" alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def _cell(row: dict, col: str) -> str:
    value = row.get(col)
    text = fmt(value, 0 if col in ("n_params", "train_seconds") else 3)
    lo, hi = row.get(f"{col}_lo"), row.get(f"{col}_hi")
    if col not in ("n_params", "train_seconds") and lo is not None and hi is not None \
            and all(isinstance(v, float) and math.isfinite(v) for v in (lo, hi)) \
            and row.get("n_seeds", 0) > 1:
        text += f' <span class="ci">[{lo:.2f}, {hi:.2f}]</span>'
    return f'<td data-col="{esc(col)}">{text}</td>'


def leaderboard_tables(board: pd.DataFrame) -> str:
    """One table per task: a row per arch, ranked rows first, under-trained rows flagged."""
    parts = []
    for task, group in board.groupby("task", sort=True):
        variants = group["variant"].nunique() > 1  # a column only where profiles are mixed
        cols = [(c, label) for c, label in TABLE_COLUMNS
                if c in group and group[c].notna().any()]
        head = "".join(f"<th>{esc(label)}</th>" for _, label in cols)
        variant_head = "<th>variant</th>" if variants else ""
        profiles = ", ".join(esc(v) for v in group["variant"].unique())
        parts.append(f'<h3>{esc(task)} <small>({profiles})</small></h3>'
                     f'<table class="leaderboard" data-task="{esc(task)}"><thead><tr><th>rank</th>'
                     f"<th>arch</th>{variant_head}<th>seeds</th>{head}</tr></thead><tbody>")
        for row in group.to_dict("records"):
            under = bool(row.get("under_trained"))
            rank = row.get("rank")
            rank_text = "—" if rank is None or pd.isna(rank) else str(int(rank))
            note = " (under-trained)" if under and row.get("n_seeds") else ""
            if not row.get("n_seeds"):
                note = ' <span class="failed">(failed)</span>'
            cells = "".join(_cell(row, c) for c, _ in cols)
            variant_cell = f"<td>{esc(row['variant'])}</td>" if variants else ""
            parts.append(f'<tr class="lb-row{" under-trained" if under else ""}" '
                         f'data-task="{esc(task)}" data-arch="{esc(row["arch"])}" '
                         f'data-variant="{esc(row["variant"])}">'
                         f"<td>{rank_text}</td><td class=\"name\">{esc(row['arch'])}{note}</td>"
                         f"{variant_cell}<td>{row.get('n_seeds', 0)}</td>{cells}</tr>")
        parts.append("</tbody></table>")
    return "\n".join(parts)


def correlation_panel(corr: dict) -> str:
    """Primary statistic (id="primary-rho"), p-value, CI, Kendall tau-b, secondary scores."""
    if not corr or corr.get("rho") is None:
        reason = esc((corr or {}).get("reason") or "not enough finished runs")
        return (f'<p>Primary correlation not available: {reason}.</p>'
                f'<p class="stat">&rho; = <span id="primary-rho">—</span></p>')
    left_out = ", ".join(f"{n} {why}" for why, n in (corr.get("left_out") or {}).items())
    out = [
        f"<p>Spearman &rho; of <b>{esc(corr.get('score', 'cond_locality'))}</b> with "
        f"<b>{esc(corr.get('outcome', 'ood_acc'))}</b> over {fmt(corr.get('n'))} finished, "
        f"not under-trained runs of {esc(', '.join(corr.get('tasks', [])))}"
        f"{' (left out: ' + esc(left_out) + ')' if left_out else ''}; p-value from permutations "
        "within each task, CI from a bootstrap within each task.</p>",
        f'<p class="stat">&rho; = <span id="primary-rho" data-value="{corr["rho"]!r}">'
        f'{fmt(corr["rho"])}</span>, p = <span id="primary-p">{fmt(corr.get("p_value"), 4)}'
        f'</span>, 95 % CI [<span id="primary-ci-lo">{fmt(corr.get("ci_low"))}</span>, '
        f'<span id="primary-ci-hi">{fmt(corr.get("ci_high"))}</span>], Kendall &tau;<sub>b</sub>'
        f' = <span id="primary-tau">{fmt(corr.get("kendall_tau_b"))}</span></p>',
    ]
    sens = corr.get("sensitivity_single_token") or {}
    if sens.get("rho") is not None:
        out.append(
            '<p id="sensitivity">Sensitivity analysis (added after the first quick suite, not '
            "pre-registered): on length-single, id_acc includes k = 2, 3, which already needs "
            "composing labels never seen together; judging under-training there by acc_k1 "
            f"instead gives &rho; = <span id=\"sensitivity-rho\">{fmt(sens['rho'])}</span>, "
            f"p = {fmt(sens.get('p_value'), 4)}, 95 % CI [{fmt(sens.get('ci_low'))}, "
            f"{fmt(sens.get('ci_high'))}], n = {fmt(sens.get('n'))}.</p>")
    secondary = corr.get("secondary") or []
    if secondary:
        out.append("<table id=\"secondary\"><thead><tr><th>secondary score</th><th>&rho;</th>"
                   "<th>p</th><th>p (Holm)</th><th>n</th></tr></thead><tbody>")
        for s in secondary:
            out.append(f"<tr><td class=\"name\">{esc(s.get('score'))}</td>"
                       f"<td>{fmt(s.get('rho'))}</td><td>{fmt(s.get('p_value'), 4)}</td>"
                       f"<td>{fmt(s.get('p_holm'), 4)}</td><td>{fmt(s.get('n'))}</td></tr>")
        out.append("</tbody></table>")
    return "\n".join(out)


def intervention_table(pairs: list[dict]) -> str:
    """Each -local model beside its global twin."""
    if not pairs:
        return "<p>No -local / global pair among the finished runs.</p>"
    out = ["<table id=\"intervention\"><thead><tr><th>task</th><th>global</th><th>ood acc</th>"
           "<th>cond locality</th><th>-local</th><th>ood acc</th><th>cond locality</th>"
           "<th>ood gain</th></tr></thead><tbody>"]
    for p in pairs:
        out.append(f"<tr><td class=\"name\">{esc(p['task'])}</td><td class=\"name\">"
                   f"{esc(p['global'])}</td><td>{fmt(p.get('ood_acc_global'))}</td>"
                   f"<td>{fmt(p.get('cond_locality_global'))}</td><td class=\"name\">"
                   f"{esc(p['local'])}</td><td>{fmt(p.get('ood_acc_local'))}</td>"
                   f"<td>{fmt(p.get('cond_locality_local'))}</td>"
                   f"<td>{fmt(p.get('ood_acc_gain'))}</td></tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def failed_table(runs: pd.DataFrame, corrupt: list) -> str:
    """Failed runs with their errors, and corrupt run directories."""
    failed = runs[runs["status"] != "ok"] if len(runs) else runs
    if failed.empty and not corrupt:
        return "<p>No failed runs.</p>"
    out = ['<table id="failed-runs"><thead><tr><th>task</th><th>arch</th><th>seed</th>'
           "<th>run</th><th>error</th></tr></thead><tbody>"]
    for r in failed.to_dict("records"):
        out.append(f"<tr class=\"failed\"><td>{esc(r['task'])}</td><td>{esc(r['arch'])}</td>"
                   f"<td>{esc(r['seed'])}</td><td>{esc(r['run_id'])}</td>"
                   f"<td class=\"name\">{esc(r.get('error'))}</td></tr>")
    for run_id, reason in corrupt:
        out.append(f"<tr class=\"failed\"><td colspan=3>corrupt</td><td>{esc(run_id)}</td>"
                   f"<td class=\"name\">{esc(reason)}</td></tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def figures(items: list[tuple[str, bytes]], cls: str) -> str:
    """Captioned embedded images."""
    return "\n".join(f"<figure>{img(png, caption, cls)}<figcaption>{esc(caption)}</figcaption>"
                     f"</figure>" for caption, png in items)


def provenance_footer(prov: dict) -> str:
    """Git commits (dirty flags), package versions, hardware of the runs."""
    commits = ", ".join(f"{c or 'unknown'}{' (dirty)' if d else ''}"
                        for c, d in prov.get("git", [])) or "unknown"
    packages = ", ".join(f"{k} {v}" for k, v in sorted((prov.get("packages") or {}).items()))
    hardware = "; ".join(prov.get("hardware", [])) or "unknown"
    return (f'<footer id="provenance"><p>Generated {esc(prov.get("generated", ""))} by compbench '
            f"{esc(prov.get('compbench', ''))} from {esc(prov.get('out', ''))}.</p>"
            f"<p>git: {esc(commits)}</p><p>packages: {esc(packages)}</p>"
            f"<p>hardware: {esc(hardware)}</p></footer>")


def render(*, report: dict, board: pd.DataFrame, runs: pd.DataFrame, corrupt: list,
           scatter: bytes, curves: dict[str, bytes], samples: list[tuple[str, bytes]],
           pictures: list[tuple[str, bytes]]) -> str:
    """The whole page."""
    counts = report["counts"]
    body = [
        "<h1>compbench leaderboard</h1>",
        f"<p>{counts['runs']} runs: {counts['ok']} finished, {counts['failed']} failed, "
        f"{counts['corrupt']} corrupt. Ranked by ood_acc (mean of accuracy at k = 4..6) among "
        "rows that are not under-trained (id_acc &ge; 0.8); intervals are 95 % t-intervals over "
        "seeds.</p>",
        '<section id="tables"><h2>Leaderboard</h2>', leaderboard_tables(board), "</section>",
        '<section id="correlation"><h2>Does locality predict length generalization?</h2>',
        correlation_panel(report.get("correlation") or {}),
        figures([("cond_locality vs ood_acc: one point per finished run; hollow grey: "
                  "under-trained (id_acc < 0.8), left out of the primary correlation",
                  scatter)],
                "scatter"),
        "</section>",
        '<section id="curves"><h2>Accuracy vs k</h2>',
        figures(sorted(curves.items()), "curve"), "</section>",
        '<section id="intervention-section"><h2>Intervention: -local vs global twin</h2>',
        intervention_table(report.get("intervention") or []), "</section>",
        '<section id="failures"><h2>Failed runs</h2>', failed_table(runs, corrupt), "</section>",
        '<section id="samples"><h2>Samples per k</h2>'
        "<p>One row per number of objects k; green frame = success.</p>",
        figures(samples, "samples"), "</section>",
        '<section id="pictures"><h2>Locality pictures</h2>', figures(pictures, "picture"),
        "</section>",
        provenance_footer(report.get("provenance") or {}),
    ]
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>compbench leaderboard</title><style>{STYLE}</style></head>\n<body>\n"
            + "\n".join(body) + f"\n<script>{SCRIPT}</script>\n</body></html>\n")
