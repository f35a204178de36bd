"""The few kinds of test every plan is built from, each returning a TestResult: a Spearman
correlation with a within-stratum permutation p (and its partial form), a paired seed-level gap,
a Holm family, and a threshold Rule that gives the verdict. The arithmetic is leaderboard.stats'."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from leaderboard import stats
from leaderboard.plans.result import CONFIRMED, NOT_CONFIRMED, TestResult

BOOTSTRAP_INTERVAL = "95 % bootstrap interval (resampling within strata)"
T_INTERVAL = "95 % seed-level t-interval"


@dataclass(frozen=True)
class Settings:
    """Resampling sizes and the seed of every random draw (fixed: same table, same report)."""

    n_permutations: int = 10_000
    n_bootstrap: int = 10_000
    seed: int = 20261201

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _numbers(values) -> np.ndarray:
    return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)


def points(table: pd.DataFrame, x: str, y: str, keys) -> list[dict]:
    """The rows of `table` with a finite x and y, as [{keys..., x, y}]: what a correlation was
    computed on, reported beside it."""
    finite = (np.isfinite(pd.to_numeric(table[x], errors="coerce"))
              & np.isfinite(pd.to_numeric(table[y], errors="coerce")))
    return table.loc[finite, [*keys, x, y]].to_dict("records")


def correlation(name: str, title: str, score, outcome, strata, settings: Settings, *,
                permuted: str = "outcome") -> TestResult:
    """Spearman rho of score and outcome (pairs with a NaN dropped), two-sided p by permuting
    the outcome within each stratum (`strata` None: one stratum), bootstrap interval resampling
    within strata, Kendall tau_b in extra (stats.correlation). `permuted` names the outcome in
    words (e.g. "radius labels within seed")."""
    res = stats.correlation(_numbers(score), _numbers(outcome),
                            None if strata is None else np.asarray(strata),
                            n_permutations=settings.n_permutations,
                            n_bootstrap=settings.n_bootstrap, seed=settings.seed)
    return TestResult(name, title, "rho", res["rho"], res["n"], p=res["p_value"],
                      interval=(res["ci_low"], res["ci_high"]), interval_kind=BOOTSTRAP_INTERVAL,
                      reason=res["reason"],
                      extra={"tau_b": res["kendall_tau_b"], "permuted": permuted})


def _partial_r(xr: np.ndarray, yr: np.ndarray, zr: np.ndarray) -> np.ndarray:
    """Pearson partial correlation of x and y given z along the last axis of yr (the rank
    vectors' Pearson correlations, stats._spearman)."""
    r_xy, r_xz, r_yz = stats._spearman(xr, yr), stats._spearman(xr, zr), stats._spearman(yr, zr)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (r_xy - r_xz * r_yz) / np.sqrt((1 - r_xz**2) * (1 - r_yz**2))


def partial_spearman(x, y, z, groups=None, *, n_permutations: int, seed: int) -> dict:
    """Partial Spearman rho of x and y given z: the Pearson partial correlation of their ranks,
    two-sided p by permuting y within each group. Triples with a NaN are dropped; fewer than
    stats.MIN_RUNS left, or a constant variable, give NaN with the reason."""
    x, y, z = (np.asarray(v, dtype=np.float64).ravel() for v in (x, y, z))
    g = np.zeros(x.size, dtype=np.int64) if groups is None else pd.factorize(np.asarray(groups))[0]
    keep = np.isfinite(x) & np.isfinite(y) & np.isfinite(z)
    x, y, z, g = x[keep], y[keep], z[keep], g[keep]
    out = {"rho": math.nan, "p": math.nan, "n": int(x.size), "reason": None}
    if x.size < stats.MIN_RUNS:
        out["reason"] = f"too few cells with finite values ({x.size} < {stats.MIN_RUNS})"
        return out
    if min(np.ptp(x), np.ptp(y), np.ptp(z)) == 0:
        out["reason"] = "a variable is constant over the cells"
        return out
    xr, yr, zr = sps.rankdata(x), sps.rankdata(y), sps.rankdata(z)
    rho = float(_partial_r(xr, yr, zr))
    if not math.isfinite(rho):
        out["reason"] = "the control variable's ranks equal the score's or the outcome's"
        return out
    null = _partial_r(xr, stats.permute_within(yr, g, n_permutations,
                                               np.random.default_rng(seed)), zr)
    p = (1 + np.sum(np.abs(np.nan_to_num(null)) >= abs(rho) - 1e-12)) / (1 + n_permutations)
    out.update(rho=rho, p=float(p))
    return out


def partial_correlation(name: str, title: str, score, outcome, given, strata,
                        settings: Settings) -> TestResult:
    """The partial Spearman rho of score and outcome given `given`, p by permuting the outcome
    within strata (no interval)."""
    res = partial_spearman(_numbers(score), _numbers(outcome), _numbers(given), strata,
                           n_permutations=settings.n_permutations, seed=settings.seed)
    return TestResult(name, title, "partial rho", res["rho"], res["n"], p=res["p"],
                      reason=res["reason"])


def paired_gap(name: str, title: str, treated: pd.Series, control: pd.Series) -> TestResult:
    """treated - control paired by seed (series indexed by seed): mean gap, its 95 % seed-level
    t-interval, the two-sided paired t-test p; the seeds and differences in extra."""
    res = stats.paired_gap(treated, control)
    reason = (None if res["n"] >= 2
              else f"{res['n']} seed(s) where both finished; an interval needs 2")
    return TestResult(name, title, "gap", res["gap"], res["n"], p=res["p"],
                      interval=tuple(res["ci"]), interval_kind=T_INTERVAL, reason=reason,
                      extra={"seeds": res["seeds"], "differences": res["differences"]})


def holm(tests: list[TestResult], missing: str = "one") -> list[TestResult]:
    """The tests with their Holm-adjusted p (stats.holm: a missing p counted as 1 in the family
    where `missing` is "one", every pre-registered family; left out where "exclude"). A test
    without a p has no adjusted p either."""
    p = np.array([math.nan if t.p is None else t.p for t in tests], dtype=float)  # (m,)
    adjusted = stats.holm(p, missing=missing)
    return [dataclasses.replace(t, p_adjusted=float(a) if math.isfinite(raw) else None)
            for t, raw, a in zip(tests, p, adjusted, strict=True)]


@dataclass(frozen=True)
class Rule:
    """A threshold rule on a TestResult: each bound that is set must hold (`adjusted`: on the
    Holm-adjusted p), and so must the plan's named conditions."""

    at_least: float | None = None  # statistic >= at_least
    at_most: float | None = None  # statistic <= at_most
    alpha: float | None = None  # p < alpha
    adjusted: bool = False
    excludes_zero: bool = False  # the interval excludes 0
    min_n: int | None = None
    sign: int | None = None  # the statistic's sign (+1 or -1)
    conditions: tuple[str, ...] = ()  # named conditions the plan decides

    def text(self, statistic: str = "statistic") -> str:
        """The rule in words, as the pages print it (`statistic`: its name, e.g. rho)."""
        parts = []
        if self.at_least is not None:
            parts.append(f"{statistic} >= {self.at_least:g}")
        if self.at_most is not None:
            parts.append(f"{statistic} <= {self.at_most:g}")
        if self.sign is not None:
            parts.append(f"{statistic} {'> 0' if self.sign > 0 else '< 0'}")
        if self.excludes_zero:
            parts.append("its interval excludes 0")
        if self.alpha is not None:
            parts.append(f"{'Holm-adjusted ' if self.adjusted else ''}p < {self.alpha:g}")
        if self.min_n is not None:
            parts.append(f"n >= {self.min_n}")
        return ", ".join([*parts, *self.conditions])

    def judge(self, test: TestResult, conditions: dict[str, bool] | None = None) -> TestResult:
        """The test with this rule, its verdict and, where not confirmed, every reason."""
        conditions = conditions or {}
        unknown = set(conditions) ^ set(self.conditions)
        if unknown:
            raise ValueError(f"rule conditions {sorted(self.conditions)} judged with "
                             f"{sorted(conditions)}")
        value = math.nan if test.statistic is None else float(test.statistic)
        p = test.p_adjusted if self.adjusted else test.p
        p = math.nan if p is None else float(p)
        low, high = test.interval or (None, None)
        failed = []
        if self.min_n is not None and test.n < self.min_n:
            failed.append(f"n = {test.n} < {self.min_n}")
        if not math.isfinite(value):
            failed.append(test.reason or f"no {test.statistic_name}")
        else:
            if self.at_least is not None and not value >= self.at_least:
                failed.append(f"{test.statistic_name} = {value:.3f} < {self.at_least:g}")
            if self.at_most is not None and not value <= self.at_most:
                failed.append(f"{test.statistic_name} = {value:.3f} > {self.at_most:g}")
            if self.sign is not None and not np.sign(value) == self.sign:
                failed.append(f"{test.statistic_name} has the other sign")
        if self.excludes_zero and not (low is not None and high is not None
                                       and (low > 0 or high < 0)):
            failed.append("the interval does not exclude 0")
        if self.alpha is not None and not p < self.alpha:
            failed.append(f"{'Holm-adjusted ' if self.adjusted else ''}p = {p:.4g} >= "
                          f"{self.alpha:g}" if math.isfinite(p) else "no p")
        failed += [f"not met: {name}" for name in self.conditions if not conditions[name]]
        return dataclasses.replace(test, rule=self.text(test.statistic_name),
                                   verdict=NOT_CONFIRMED if failed else CONFIRMED,
                                   reason="; ".join(dict.fromkeys(failed)) or None)
