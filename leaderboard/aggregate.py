"""runs.csv and leaderboard.csv from a results directory's metrics.json files (files only)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from bench.results import (
    ATTRIBUTE_METRICS,
    BINDING_METRICS,
    LOCALITY_METRICS,
    Metrics,
    Store,
    higher_is_better,
)
from bench.results.variant import Variant, declared_task_options
from leaderboard import competence, stats

COLOR_METRICS = ("color_acc", "heldout_pair_acc", "seen_pair_acc", "feature_entanglement",
                 "feature_entanglement_random")
KEY = ["task", "arch", "variant"]  # variant: profile (+ overrides); seeds average within a key


def load(out_dir) -> tuple[list[Metrics], list[tuple[str, str]]]:
    """(metrics of every complete or failed run, [(run_id, reason)] of corrupt run directories)."""
    records, corrupt = [], []
    for run_id, state, metrics in Store(out_dir).iter_metrics():
        if metrics is None:
            corrupt.append((run_id, state.reason))
        else:
            records.append(metrics)
    return records, corrupt


def _sigma_key(sigma: float) -> str:
    return f"{float(sigma):.3g}"


def _wilson(successes: int, n: int) -> tuple[float, float]:
    if not n:
        return float("nan"), float("nan")
    lo, hi = stats.wilson_interval(successes, n)
    return float(lo), float(hi)


def _flatten_entanglement(ent: dict | None) -> dict:
    """Scalar entries of feature_entanglement()'s dict, main value first."""
    if not ent:
        return {}
    out = {}
    for key, value in ent.items():
        if isinstance(value, int | float | np.number) and not isinstance(value, bool):
            name = key if key.startswith("feature_entanglement") else f"entanglement_{key}"
            out[name] = float(value)
    return out


def _number(value) -> float:
    """A metrics.json number as a float (null, i.e. NaN, as NaN)."""
    return float("nan") if value is None else float(value)


def pair_columns(per_k: dict[int, dict]) -> dict:
    """`color`'s held-out-pair accuracy per k beside its seen-pair accuracy at the same k, and
    both k-matched: over the k >= 1 with held-out and seen scenes, the held-out scenes' pooled
    accuracy and the seen-pair accuracy per k weighted by the held-out scenes' count there (so a
    held-out pair that mostly occurs at large k is compared with seen pairs at the same k)."""
    rows = {k: v for k, v in per_k.items() if k >= 1 and "n_heldout" in v}
    if not rows:
        return {}
    out = {}
    for k, v in sorted(rows.items()):
        out[f"heldout_pair_acc_k{k}"] = (v["successes_heldout"] / v["n_heldout"]
                                         if v["n_heldout"] else float("nan"))
        out[f"seen_pair_acc_k{k}"] = (v["successes_seen"] / v["n_seen"] if v["n_seen"]
                                      else float("nan"))
    both = [v for v in rows.values() if v["n_heldout"] and v["n_seen"]]
    n_held = sum(v["n_heldout"] for v in both)
    out["heldout_pair_acc_kmatched"] = (sum(v["successes_heldout"] for v in both) / n_held
                                        if n_held else float("nan"))
    out["seen_pair_acc_kmatched"] = (sum(v["n_heldout"] * v["successes_seen"] / v["n_seen"]
                                         for v in both) / n_held if n_held else float("nan"))
    return out


def binding_columns(binding: dict | None) -> dict:
    """The binding probe's columns: the five BINDING_METRICS, Wilson intervals of the shares
    (counts pooled over k: every k has the same number of pairs, so the pooled share is the
    equal-weight mean), per-k values, the probe objects' outcome shares of A and B, and the
    reason where combo_retention is NaN."""
    if not binding:
        return {}
    per_k = {int(k): v for k, v in (binding.get("per_k") or {}).items()}
    out = {name: _number(binding.get(name)) for name in BINDING_METRICS}
    out["combo_retention_reason"] = binding.get("reason")
    n = sum(v["n"] for v in per_k.values())
    for name, field in (("heldout_combo_acc", "heldout_clean"), ("seen_combo_acc", "seen_clean"),
                        ("heldout_exact_acc", "heldout_exact"), ("seen_exact_acc", "seen_exact")):
        out[f"{name}_lo"], out[f"{name}_hi"] = _wilson(sum(v[field] for v in per_k.values()), n)
    for k, v in sorted(per_k.items()):
        for name, field in (("heldout_combo_acc", "heldout_clean"),
                            ("seen_combo_acc", "seen_clean")):
            out[f"{name}_k{k}"] = v[field] / v["n"] if v["n"] else float("nan")
            out[f"{name}_k{k}_lo"], out[f"{name}_k{k}_hi"] = _wilson(v[field], v["n"])
        out[f"combo_retention_k{k}"] = (v["heldout_clean"] / v["seen_clean"] if v["seen_clean"]
                                        else float("nan"))
    for member in ("heldout", "seen"):
        counts: dict[str, int] = {}
        for v in per_k.values():
            for outcome, c in v[f"{member}_outcomes"].items():
                counts[outcome] = counts.get(outcome, 0) + c
        for outcome, c in counts.items():
            out[f"probe_{member}_share_{outcome}"] = c / n if n else float("nan")
    return out


def attribute_columns(attributes: dict | None) -> dict:
    """attr_transfer and attr_transfer_seen (mean, bootstrap interval, per sigma, reason) and
    attr_overlap beside its random baseline (and reason)."""
    if not attributes:
        return {}
    out = {}
    for name in ATTRIBUTE_METRICS[:2]:
        entry = attributes.get(name) or {}
        out[name] = _number(entry.get("mean"))
        out[f"{name}_lo"], out[f"{name}_hi"] = _number(entry.get("lo")), _number(entry.get("hi"))
        for sigma, value in entry.get("per_sigma") or ():
            out[f"{name}_s{_sigma_key(sigma)}"] = _number(value)
        out[f"{name}_reason"] = entry.get("reason")
    overlap = attributes.get("attr_overlap") or {}
    out["attr_overlap"] = _number(overlap.get("attr_overlap"))
    out["attr_overlap_random"] = _number(overlap.get("attr_overlap_random"))
    out["attr_overlap_reason"] = overlap.get("reason")
    return out


def variant(spec: dict, resolved: dict | None = None) -> str:
    """The row label beside task and arch (bench.results.variant.Variant's text form), so runs
    that differ in profile, overrides, hyperparameters, task options or scoring never average."""
    return str(Variant.of_run(spec, resolved))


def task_option_columns(resolved: dict) -> dict:
    """task_<name>: the declared options of the run's task (defaults included; none for a task
    that declares none), so an analysis reads an option from its own column."""
    return {f"task_{k}": v for k, v in sorted(declared_task_options(resolved).items())}


def hparam_columns(resolved: dict) -> dict:
    """hp_<name>: the run's resolved architecture hyperparameters (defaults included), so an
    analysis reads a radius from its own column and never parses `variant`."""
    hparams = (resolved.get("arch_config") or {}).get("hparams") or {}
    return {f"hp_{k}": v for k, v in sorted(hparams.items())
            if isinstance(v, int | float | str | bool) or v is None}


def sigma_range_columns(sigma_range: dict | None) -> dict:
    """A scored model's noise levels (rows of models that state their range, none otherwise):
    its range, the sampler's, and how many probe sigmas were clamped to the model's range."""
    if not sigma_range:
        return {}
    return {"sigma_min_model": sigma_range["model"][0], "sigma_max_model": sigma_range["model"][1],
            "sigma_min_sampled": sigma_range["sampled"][0],
            "sigma_max_sampled": sigma_range["sampled"][1],
            "probe_sigmas_clamped": sigma_range["n_clamped"]}


def run_row(m: Metrics) -> dict:
    """One runs.csv row from a run's metrics."""
    spec, prov = m.spec, m.provenance or {}
    git = prov.get("git") or {}
    resolved = m.resolved or {}
    row = {"task": spec.get("task"), "arch": spec.get("arch"), "seed": spec.get("seed"),
           "profile": spec.get("profile"), "variant": variant(spec, m.resolved),
           "status": m.status, "error": m.error, "attempts": m.attempts, "trained": m.trained}
    acc = m.accuracy
    if acc:
        for name in ("id_acc", "ood_acc", "exact_id_acc", "exact_ood_acc", "train_acc"):
            row[name] = acc.get(name)
        per_k = {int(k): v for k, v in acc["per_k"].items()}
        task = m.task or {}
        for name, ks in (("id_acc", task.get("id_lengths", ())),
                         ("ood_acc", task.get("ood_lengths", ()))):
            s = sum(per_k[k]["successes"] for k in ks if k in per_k)
            n = sum(per_k[k]["n"] for k in ks if k in per_k)
            row[f"{name}_lo"], row[f"{name}_hi"] = _wilson(s, n)
        for k, v in sorted(per_k.items()):
            row[f"acc_k{k}"] = v["acc"]
            row[f"acc_k{k}_lo"], row[f"acc_k{k}_hi"] = _wilson(v["successes"], v["n"])
            row[f"n_k{k}"] = v["n"]
            for field in ("n_found", "n_missing", "n_extra", "all_present", "exact", "placed",
                          "clean_share"):
                if field in v:
                    row[f"{field}_k{k}"] = v[field]
            for outcome, share in (v.get("outcomes") or {}).items():
                row[f"share_{outcome}_k{k}"] = share
        scored = [v for k, v in per_k.items() if k >= 1]
        n_all = sum(v["n"] for v in scored)
        for field in ("all_present", "exact"):
            row[f"{field}_rate"] = (sum(v[field] * v["n"] for v in scored) / n_all
                                    if n_all else None)
        row.update({k: v for k, v in (acc.get("color") or {}).items() if k in COLOR_METRICS})
        row.update(pair_columns(per_k))
    for split, suffix in (("ood", ""), ("id", "_id")):
        for metric in LOCALITY_METRICS:
            entry = ((m.locality or {}).get(split) or {}).get(metric)
            if entry is None:
                continue
            row[f"{metric}{suffix}"] = entry.get("mean")
            if "lo" in entry:  # 95 % bootstrap interval over test scenes (schema 2)
                row[f"{metric}{suffix}_lo"], row[f"{metric}{suffix}_hi"] = entry["lo"], entry["hi"]
            for sigma, value in entry.get("per_sigma") or ():
                row[f"{metric}{suffix}_s{_sigma_key(sigma)}"] = value
    row.update(_flatten_entanglement(m.entanglement))
    row.update(binding_columns(m.binding))
    row.update(attribute_columns(m.attributes))
    row.update(hparam_columns(resolved))
    row.update(task_option_columns(resolved))
    row.update(sigma_range_columns(m.sigma_range))
    train, arch, timings = m.train or {}, m.arch or {}, m.timings or {}
    row.update(
        train_seconds=train.get("seconds"), steps=train.get("steps"),
        n_params=arch.get("n_params") or train.get("n_params"),
        conditioning=arch.get("conditioning"), locality_radius=arch.get("locality_radius"),
        run_seconds=timings.get("total"), run_id=m.run_id,
        task_version=resolved.get("task_version"), git_commit=git.get("commit"),
        git_dirty=git.get("dirty"),
        packages=";".join(f"{k}={v}" for k, v in sorted((prov.get("packages") or {}).items())),
        device=(prov.get("hardware") or {}).get("device"),
    )
    return row


def runs_table(records: list[Metrics]) -> pd.DataFrame:
    """runs.csv: one row per run, sorted by task, arch, seed."""
    if not records:
        return pd.DataFrame(columns=["task", "arch", "seed", "profile", "variant", "status",
                                     "id_acc", "ood_acc", "run_id"])
    df = pd.DataFrame([run_row(m) for m in records])
    for col in ("id_acc", "ood_acc"):  # present even when no run finished
        if col not in df:
            df[col] = np.nan
    return df.sort_values(["task", "arch", "seed"], kind="stable").reset_index(drop=True)


_NOT_SUMMARISED = re.compile(
    r"(_s\d|_lo$|_hi$|^n_k\d|^hp_|^task_|^sigma_m|^(seed|attempts|locality_radius)$)")


def leaderboard_metrics(runs: pd.DataFrame) -> list[str]:
    """Numeric columns of runs.csv summarised over seeds in leaderboard.csv (not per-sigma ones)."""
    return [c for c in runs.columns
            if c not in KEY and not _NOT_SUMMARISED.search(c)
            and pd.api.types.is_numeric_dtype(runs[c]) and not pd.api.types.is_bool_dtype(runs[c])]


def _all_trained(group: pd.DataFrame) -> bool:
    """Whether every run of a leaderboard row was trained here (no `trained` column: yes)."""
    if "trained" not in group:
        return True
    return bool(stats.trained_rows(group["trained"]).all())


def leaderboard_table(runs: pd.DataFrame) -> pd.DataFrame:
    """leaderboard.csv: per task x arch, mean and 95 % t-interval over seeds, seed values, rank."""
    rows = []
    metrics = leaderboard_metrics(runs) if len(runs) else []
    for (task, arch, variant), group in runs.groupby(KEY, sort=True):
        ok = group[group["status"] == "ok"].sort_values("seed")
        row = {"task": task, "arch": arch, "variant": variant, "n_seeds": int(len(ok)),
               "n_failed": int((group["status"] != "ok").sum()),
               "seeds": ";".join(str(s) for s in ok["seed"]),
               "trained": _all_trained(group)}
        for col in metrics:
            values = ok[col].to_numpy(dtype=float)
            finite = values[np.isfinite(values)]
            if finite.size:
                mean, lo, hi = stats.t_interval(finite)
            else:
                mean = lo = hi = float("nan")
            row[f"{col}"] = float(mean)
            row[f"{col}_lo"], row[f"{col}_hi"] = float(lo), float(hi)
            row[f"{col}_seeds"] = ";".join("nan" if not np.isfinite(v) else f"{v:.6g}"
                                           for v in values)
        rows.append(row)
    board = pd.DataFrame(rows)
    if board.empty:
        return pd.DataFrame(columns=["task", "arch", "variant", "n_seeds", "n_failed", "rank",
                                     "under_trained"])
    board["under_trained"] = ~competence.CURRENT.competent(board)
    board["rank"] = np.nan
    # Ranked within a task across the variants of one profile (a radius dial's rows rank against
    # each other and their twins); a row that stands alone gets no rank.
    profile = board["variant"].map(lambda v: Variant.parse(v).profile)
    for _, group in board.groupby([board["task"], profile]):
        # Reference rows (the oracle, outside denoisers) are shown beside the ranking, not in it.
        ranked = group[~group["under_trained"] & group["ood_acc"].notna() & group["trained"]]
        if len(ranked) < 2:
            continue
        order = ranked["ood_acc"].rank(ascending=not higher_is_better("ood_acc"), method="min")
        board.loc[order.index, "rank"] = order
    board["rank"] = board["rank"].astype("Int64")
    first = ["task", "arch", "variant", "rank", "under_trained", "trained", "n_seeds", "n_failed",
             "seeds"]
    board = board[first + [c for c in board.columns if c not in first]]
    return board.sort_values(["task", "rank", "variant", "arch"], na_position="last",
                             kind="stable").reset_index(drop=True)
