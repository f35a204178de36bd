"""Statistics of the leaderboard: Wilson and t intervals, the run-level locality/OOD correlation.

`exploratory_correlation` is the exploratory run-level correlation the report shows beside the
analysis plans (leaderboard.analysis, whose v2 is the pre-registered test): Spearman rho of a
locality score with `ood_acc` over finished, not under-trained (train_acc >= COMPETENCE; id_acc
where a result predates train_acc) runs of `length` and `length-single`; permutation p-value
(two-sided, outcome permuted within each task); percentile bootstrap CI (runs resampled within
each task); Kendall tau_b beside it. The secondary locality scores get the same analysis, their
p-values Holm-corrected together. `training_metric` replaces the under-trained test per task
(the earlier sensitivity analysis judged length-single by acc_k1, which train_acc now does).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as sps

from bench.results.definitions import COMPETENCE, higher_is_better
from leaderboard import competence

EXPLORATORY_SCORE = "cond_locality"  # the exploratory run-level correlation's score
OUTCOME = "ood_acc"
PRIMARY_TASKS = ("length", "length-single")
MIN_ID_ACC = COMPETENCE  # below it a run is under-trained and left out of the correlation
SECONDARY_SCORES = (
    "cond_locality_ablation",
    "cond_locality_raw",
    "cond_sensitivity",
    "spatial_r50",
    "spatial_frac",
)
MIN_RUNS = 4  # fewer runs than this give no correlation (Spearman's p is meaningless below it)
N_PERMUTATIONS = 10000
N_BOOTSTRAP = 2000


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (Wilson 1927); n = 0 -> (nan, nan)."""
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes!r}, n={n!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if n == 0:
        return math.nan, math.nan
    z = sps.norm.ppf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def t_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): Student-t interval of the mean over seeds (NaNs dropped; n < 2: NaN)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    a = np.asarray(values, dtype=np.float64).ravel()
    a = a[np.isfinite(a)]
    if a.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(a.mean())
    if a.size < 2:
        return mean, math.nan, math.nan
    half = sps.t.ppf(0.5 + confidence / 2, a.size - 1) * a.std(ddof=1) / math.sqrt(a.size)
    return mean, float(mean - half), float(mean + half)


def seed_spread(values) -> dict:
    """{"mean", "min", "max"} of one score over seeds (non-numbers and NaNs dropped; none left:
    NaN each): the seed mean and range every per-radius table shows."""
    a = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float)
    a = a[np.isfinite(a)]  # (finite seeds,)
    if not a.size:
        return {"mean": math.nan, "min": math.nan, "max": math.nan}
    return {"mean": float(a.mean()), "min": float(a.min()), "max": float(a.max())}


HOLM_MISSING = ("exclude", "one")


def paired_gap(treated: pd.Series, control: pd.Series) -> dict:
    """The intervention summary of every plan: per-seed differences treated - control (indexed by
    seed; seeds where both are finite), their mean with its 95 % seed-level Student-t interval,
    and the two-sided paired t-test p (NaN below 2 seeds or for constant differences)."""
    diff = (treated - control).dropna().sort_index()  # (n,)
    mean, low, high = t_interval(diff.to_numpy())
    varies = diff.size >= 2 and np.ptp(diff.to_numpy()) > 1e-12  # constant differences: no p
    p = float(sps.ttest_1samp(diff.to_numpy(), 0.0).pvalue) if varies else math.nan
    return {"seeds": [int(s) for s in diff.index], "differences": diff.tolist(), "gap": mean,
            "ci": [low, high], "p": p, "n": int(diff.size)}


def holm(pvalues, missing: str = "exclude") -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (Holm 1979). A missing (NaN) p is, by `missing`:
    "exclude" -- left out of m and NaN in the result (the exploratory correlation's secondaries);
    "one" -- counted in m as p = 1 (every pre-registered family: v2's secondaries, v3's P1 and
    P2), so the family's size never shrinks."""
    if missing not in HOLM_MISSING:
        raise ValueError(f"missing must be one of {HOLM_MISSING}, got {missing!r}")
    p = np.asarray(pvalues, dtype=np.float64)
    if missing == "one":
        p = np.where(np.isfinite(p), p, 1.0)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for i, idx in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[idx]))
        out[idx] = running
    return out


def _ranks_within(groups: np.ndarray) -> list[np.ndarray]:
    return [np.flatnonzero(groups == g) for g in np.unique(groups)]


def permute_within(values: np.ndarray, groups: np.ndarray, n: int,
                   rng: np.random.Generator) -> np.ndarray:
    """(n, len(values)): `values` shuffled independently within each group (in np.unique's
    order of the groups), n times: the one permutation routine of the report's tests."""
    out = np.broadcast_to(values, (n, values.size)).copy()
    for idx in _ranks_within(groups):
        out[:, idx] = values[idx][np.argsort(rng.random((n, idx.size)), axis=1)]
    return out


def _spearman(x_rank: np.ndarray, y_rank: np.ndarray) -> np.ndarray:
    """Pearson correlation of rank vectors along the last axis (Spearman's rho, average ranks)."""
    xc = x_rank - x_rank.mean(-1, keepdims=True)
    yc = y_rank - y_rank.mean(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (xc * yc).sum(-1) / np.sqrt((xc**2).sum(-1) * (yc**2).sum(-1))


def correlation(
    score,
    outcome,
    groups=None,
    *,
    n_permutations: int = N_PERMUTATIONS,
    n_bootstrap: int = N_BOOTSTRAP,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict:
    """Spearman rho with a within-group permutation p-value and bootstrap CI, plus Kendall tau_b.

    Pairs with a NaN are dropped. Returns rho, p_value, ci_low, ci_high, kendall_tau_b, kendall_p,
    n, and reason (None, or why the numbers are NaN: too few runs or a constant variable).
    """
    x = np.asarray(score, dtype=np.float64).ravel()
    y = np.asarray(outcome, dtype=np.float64).ravel()
    g = np.zeros(x.size, dtype=np.int64) if groups is None else pd.factorize(np.asarray(groups))[0]
    if not (x.size == y.size == g.size):
        raise ValueError(
            f"score, outcome and groups differ in length: {x.size}, {y.size}, {g.size}"
        )
    keep = np.isfinite(x) & np.isfinite(y)
    x, y, g = x[keep], y[keep], g[keep]
    out = {
        "rho": math.nan,
        "p_value": math.nan,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "kendall_tau_b": math.nan,
        "kendall_p": math.nan,
        "n": int(x.size),
        "n_dropped_nan": int((~keep).sum()),
        "reason": None,
    }
    if x.size < MIN_RUNS:
        out["reason"] = f"too few runs with finite values ({x.size} < {MIN_RUNS})"
        return out
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        out["reason"] = "score or outcome is constant over the runs"
        return out
    xr, yr = sps.rankdata(x), sps.rankdata(y)
    rho = float(_spearman(xr, yr))
    tau = sps.kendalltau(x, y, variant="b")
    out.update(rho=rho, kendall_tau_b=float(tau.statistic), kendall_p=float(tau.pvalue))
    rng = np.random.default_rng(seed)
    strata = _ranks_within(g)

    # Permutation test: shuffle the outcome ranks within each task.
    null = _spearman(xr, permute_within(yr, g, n_permutations, rng))
    out["p_value"] = float((1 + np.sum(np.abs(null) >= abs(rho) - 1e-12)) / (1 + n_permutations))

    # Bootstrap: resample runs within each task, re-rank, percentile interval.
    picks = np.concatenate(
        [idx[rng.integers(0, idx.size, (n_bootstrap, idx.size))] for idx in strata], axis=1
    )  # (n_bootstrap, n)
    boot = _spearman(sps.rankdata(x[picks], axis=1), sps.rankdata(y[picks], axis=1))
    boot = boot[np.isfinite(boot)]
    if boot.size:
        alpha = (1 - confidence) / 2
        out["ci_low"], out["ci_high"] = (float(v) for v in np.quantile(boot, [alpha, 1 - alpha]))
    return out




def selection(table: pd.DataFrame, criteria) -> tuple[pd.Series, dict[str, int]]:
    """The one row selection of the report's analyses: (the boolean mask of the rows meeting
    every criterion, reason -> how many rows it was the first to leave out). `criteria` is
    [(reason, mask or table -> mask)] in the table's row order; a missing value leaves its row
    out."""
    keep = pd.Series(True, index=table.index)
    left_out: dict[str, int] = {}
    for reason, rule in criteria:
        rows = rule(table) if callable(rule) else rule
        values = rows.to_numpy() if isinstance(rows, pd.Series) else rows  # the table's order
        rows = pd.Series(values, index=table.index).fillna(False).astype(bool)
        dropped = keep & ~rows
        if dropped.any():
            left_out[reason] = int(dropped.sum())
        keep &= rows
    return keep, left_out


def select_rows(table: pd.DataFrame, criteria) -> tuple[pd.DataFrame, dict[str, int]]:
    """(the rows `selection` keeps, its left-out counts)."""
    keep, left_out = selection(table, criteria)
    return table[keep], left_out


def trained_rows(column: pd.Series) -> pd.Series:
    """True where `trained` is True or the CSV text "true"; anything else (NaN too) is False."""
    return column.map(lambda v: str(v).strip().lower() == "true").astype(bool)


def training_accuracy(runs: pd.DataFrame, by_task: dict[str, str] | None = None) -> pd.Series:
    """Per run, the accuracy that decides "under-trained" (competence.CURRENT): train_acc (id_acc
    where a result predates it), or by_task[task] where given."""
    return competence.CURRENT.accuracy(runs, by_task)


def eligible_runs(runs: pd.DataFrame, *, tasks=PRIMARY_TASKS, min_id_acc: float = MIN_ID_ACC,
                  training_metric: dict[str, str] | None = None):
    """(runs entering the correlation, dict of reason -> number of runs left out).

    `training_metric` (task -> column) replaces id_acc in the under-trained test for those tasks.
    """
    missing = {"task", "id_acc", OUTCOME} - set(runs.columns)
    if missing:
        raise ValueError(f"runs table lacks columns {sorted(missing)}; has {list(runs.columns)}")
    measure = competence.CURRENT.column + "".join(
        f", {c} on {t}" for t, c in (training_metric or {}).items())
    return select_rows(runs, (
        ("not finished", lambda d: d["status"] == "ok" if "status" in d else True),
        ("not trained here (oracle or scored rows)",
         lambda d: trained_rows(d["trained"]) if "trained" in d else True),
        ("other task", lambda d: d["task"].isin(tasks)),
        (f"under-trained ({measure} < {min_id_acc})",
         lambda d: training_accuracy(d, training_metric) >= min_id_acc),
    ))


def exploratory_correlation(
    runs: pd.DataFrame,
    *,
    score: str = EXPLORATORY_SCORE,
    seed: int = 0,
    n_permutations: int = N_PERMUTATIONS,
    n_bootstrap: int = N_BOOTSTRAP,
    training_metric: dict[str, str] | None = None,
) -> dict:
    """The exploratory run-level correlation over a runs table (one row per run, runs.csv's
    columns).

    `training_metric` gives the sensitivity analysis instead (see the module docstring).
    """
    df, left_out = eligible_runs(runs, training_metric=training_metric)
    if score not in runs.columns:
        raise ValueError(f"runs table lacks the score column {score!r}")
    out = correlation(
        df[score].to_numpy(dtype=float),
        df[OUTCOME].to_numpy(dtype=float),
        df["task"].to_numpy(),
        n_permutations=n_permutations,
        n_bootstrap=n_bootstrap,
        seed=seed,
    )
    if out["n_dropped_nan"]:
        left_out[f"NaN {score} or {OUTCOME}"] = out["n_dropped_nan"]
    out.update(
        score=score,
        outcome=OUTCOME,
        tasks=list(PRIMARY_TASKS),
        min_id_acc=MIN_ID_ACC,
        training_metric=dict(training_metric or {}),
        left_out=left_out,
    )
    return out


def exploratory_secondary(
    runs: pd.DataFrame,
    scores=SECONDARY_SCORES,
    *,
    seed: int = 0,
    n_permutations: int = N_PERMUTATIONS,
    n_bootstrap: int = N_BOOTSTRAP,
) -> pd.DataFrame:
    """The exploratory correlation for each secondary score; Holm-adjusted p-values in column
    p_holm (a missing p left out of m)."""
    rows = []
    for score in scores:
        if score not in runs.columns:
            rows.append(
                {
                    "score": score,
                    "rho": math.nan,
                    "p_value": math.nan,
                    "reason": "not in the runs table",
                }
            )
            continue
        res = exploratory_correlation(
            runs, score=score, seed=seed, n_permutations=n_permutations, n_bootstrap=n_bootstrap
        )
        rows.append(
            {
                key: res[key]
                for key in (
                    "score",
                    "rho",
                    "p_value",
                    "ci_low",
                    "ci_high",
                    "kendall_tau_b",
                    "n",
                    "reason",
                )
            }
        )
    table = pd.DataFrame(rows)
    table["p_holm"] = holm(table["p_value"].to_numpy(dtype=float))
    # The sign locality theory predicts: + where more of the score means more local.
    table["expected_sign"] = ["+" if higher_is_better(s) else "-" for s in table["score"]]
    return table
