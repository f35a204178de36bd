"""Analysis v4 (pre-registered 2026-12-07, confirmatory on seeds 20-25): attribute binding -- can a
model put a color where it never saw that color, and does conditional locality decide it? The
plan's text is docs/design.md ("Analysis plans", v4); its design is the study confirm-v4
(bench/studies/confirm_v4.py); this module is the text as code.

- Computed only once every run of the design has a row (finished or failed); before that the
  report says "incomplete, n of 28". Failed runs are reported, never replaced. No competence
  filter: train_acc stands beside every number.
- P1, intervention (enforced conditional locality): per seed in 20-25, gap = combo_retention
  (unet-xattn-local, radius 0.15) - combo_retention(unet-xattn), heldout_bands 3; mean, 95 %
  seed-level t-interval, two-sided paired t-test p. Confirmed when the mean > 0, the interval
  excludes 0 and the Holm-adjusted p < 0.05.
- P2, across architectures: Spearman rho(cond_locality_ablation (OOD), combo_retention) over the
  15 heldout_bands-3 runs at seeds 20-22 (unet-heatmap, conv-heatmap-rf5, unet-film, and the two
  xattn UNets), runs with a NaN in either dropped (n stated); two-sided p by permuting
  combo_retention within seed. Confirmed when rho >= 0.5 and the Holm-adjusted p < 0.05. Holm
  over P1 and P2, a missing p counted as 1.
- P3, instrument: rho(attr_transfer, combo_retention) over the same runs, p as P2, uncorrected;
  confirmed when rho <= -0.5 and p < 0.05.
- P4, instrument (a known failure): analytic-local's combo_retention <= 0.5 and attr_transfer
  >= 0.5; not decided, with the reason, if its run failed.
- Descriptive: per architecture at heldout_bands 3 the seed mean and range of every number
  above, cond_interference and attr_overlap beside its random baseline; the probe objects'
  outcome shares, A (held out) against B (seen); unet-film's combo_retention and attr_transfer
  at heldout_bands 1, 2, 3 (seeds 20-22) with rho against heldout_bands, and attr_transfer_seen
  at 1 and 2 as the floor.

Choices where the plan is silent: P4 is also not decided where either of its numbers is NaN
(combo_retention is NaN where no seen probe object came out clean; attr_transfer where the
model ignores color), since a NaN can neither meet nor miss a threshold; the reason says which.
The correlations come from stats.correlation (its bootstrap interval, resampling within seed, is
reported beside them). The rho against heldout_bands permutes heldout_bands within seed.
"""

from __future__ import annotations

import math

import pandas as pd

from bench import studies
from bench.results.definitions import ALL_OUTCOMES
from bench.studies import confirm_v4 as design
from leaderboard import plots, stats
from leaderboard.plans import kinds, select
from leaderboard.plans.kinds import Rule, Settings
from leaderboard.plans.plan import Plan
from leaderboard.plans.result import (
    COMPLETE,
    CONFIRMED,
    NOT_CONFIRMED,
    PRE_REGISTERED,
    UNDECIDED,
    PlanResult,
    Table,
    TestResult,
)

STUDY = studies.get("confirm-v4")
LOCAL, GLOBAL = STUDY.twins[0].local, STUDY.twins[0].global_
ORACLE = "analytic-local"
OUTCOME = "combo_retention"
SETTINGS = Settings(n_permutations=10_000, n_bootstrap=10_000, seed=20261207)
P1_RULE = Rule(sign=+1, excludes_zero=True, alpha=0.05, adjusted=True)
P2_RULE = Rule(at_least=0.5, alpha=0.05, adjusted=True)
P3_RULE = Rule(at_most=-0.5, alpha=0.05)
P4_MAX_RETENTION, P4_MIN_TRANSFER = 0.5, 0.5
DESCRIBED = ("heldout_combo_acc", "seen_combo_acc", "combo_retention", "train_acc",
             "cond_locality_ablation", "attr_transfer", "cond_interference", "attr_overlap",
             "attr_overlap_random")


def _at(rows: pd.DataFrame, arch: str, bands: int = design.BANDS) -> pd.DataFrame:
    """The rows of one architecture at one heldout_bands."""
    return rows[(rows["arch"] == arch) & (select.column(rows, "task_heldout_bands") == bands)]


def _per_seed(rows: pd.DataFrame, arch: str, column: str) -> pd.Series:
    """Per seed, `column` of the finished runs of `arch` at heldout_bands 3."""
    return select.per_seed(_at(rows, arch), column)


def across(done: pd.DataFrame) -> pd.DataFrame:
    """P2's and P3's runs: the heldout_bands-3 runs at seeds 20-22 of the five architectures."""
    archs = (*design.ACROSS, LOCAL, GLOBAL)
    rows = done[done["arch"].isin(archs) & done["seed"].isin(design.CORE_SEEDS)]
    return rows[select.column(rows, "task_heldout_bands") == design.BANDS]


def _against_retention(name: str, title: str, rows: pd.DataFrame, column: str,
                       settings: Settings) -> TestResult:
    """rho(column, combo_retention) over `rows`, p by permuting combo_retention within seed."""
    return kinds.correlation(name, title, select.column(rows, column), select.column(rows, OUTCOME),
                             rows["seed"], settings, permuted="combo_retention within seed")


def p4_oracle(scope: pd.DataFrame) -> TestResult:
    """analytic-local: combo_retention <= 0.5 and attr_transfer >= 0.5; not decided where its
    run failed or either number is NaN."""
    rule = (f"combo_retention <= {P4_MAX_RETENTION:g} and attr_transfer >= "
            f"{P4_MIN_TRANSFER:g}")
    rows = _at(scope, ORACLE)
    title = "P4 instrument: analytic-local, a known binding failure"
    if not len(rows) or rows["status"].iloc[0] != "ok":
        error = rows["error"].iloc[0] if len(rows) and "error" in rows else None
        return TestResult("P4", title, OUTCOME, None, 0, rule=rule, verdict=UNDECIDED,
                          reason=f"its run failed: {error}" if len(rows) else "no run")
    retention = float(select.column(rows, OUTCOME).iloc[0])
    transfer = float(select.column(rows, "attr_transfer").iloc[0])
    extra = {"attr_transfer": transfer,
             "train_acc": float(select.column(rows, "train_acc").iloc[0])}
    nan = [n for n, v in ((OUTCOME, retention), ("attr_transfer", transfer)) if math.isnan(v)]
    if nan:
        why = "; ".join(str(rows[f"{n}_reason"].iloc[0]) for n in nan
                        if f"{n}_reason" in rows and pd.notna(rows[f"{n}_reason"].iloc[0]))
        return TestResult("P4", title, OUTCOME, retention, 1, rule=rule, verdict=UNDECIDED,
                          reason=f"{' and '.join(nan)} NaN" + (f" ({why})" if why else ""),
                          extra=extra)
    failed = [*([f"combo_retention = {retention:.3f} > {P4_MAX_RETENTION:g}"]
                if retention > P4_MAX_RETENTION else []),
              *([f"attr_transfer = {transfer:.3f} < {P4_MIN_TRANSFER:g}"]
                if transfer < P4_MIN_TRANSFER else [])]
    return TestResult("P4", title, OUTCOME, retention, 1, rule=rule,
                      verdict=NOT_CONFIRMED if failed else CONFIRMED,
                      reason="; ".join(failed) or None, extra=extra)


def per_arch(done: pd.DataFrame) -> Table:
    """Per architecture at heldout_bands 3: the seed mean [min, max] of every number v4 reads."""
    rows = []
    for arch in (*design.ACROSS, LOCAL, GLOBAL, ORACLE):
        pick = _at(done, arch)
        rows.append((arch, sorted(int(s) for s in pick["seed"]), len(pick),
                     *(stats.seed_spread(select.column(pick, c)) for c in DESCRIBED)))
    return Table("per_arch", "Per architecture at heldout_bands 3: seed mean [min, max] "
                 "(descriptive; no competence filter)", ("arch", "seeds", "n", *DESCRIBED),
                 tuple(rows))


def probe_outcomes(done: pd.DataFrame) -> Table:
    """Per architecture at heldout_bands 3, the share of probe objects per evaluator outcome, A
    (held-out combination) against B (seen), seed mean."""
    rows = []
    for arch in (*design.ACROSS, LOCAL, GLOBAL, ORACLE):
        pick = _at(done, arch)
        for member, label in (("heldout", "A (held out)"), ("seen", "B (seen)")):
            rows.append((arch, label, *(stats.seed_spread(
                select.column(pick, f"probe_{member}_share_{o}"))["mean"] for o in ALL_OUTCOMES)))
    return Table("probe_outcomes", "The probe objects' outcomes, share per pair member "
                 "(heldout_bands 3, seed mean; descriptive)", ("arch", "probe", *ALL_OUTCOMES),
                 tuple(rows))


def sweep(done: pd.DataFrame, settings: Settings) -> tuple[Table, list[TestResult]]:
    """unet-film at heldout_bands 1, 2, 3 (seeds 20-22): combo_retention, attr_transfer and, at
    1 and 2, attr_transfer_seen (the floor), with rho of the first two against heldout_bands."""
    film = done[(done["arch"] == design.SWEEP_ARCH) & done["seed"].isin(design.CORE_SEEDS)]
    film = film.assign(bands=select.column(film, "task_heldout_bands"))
    table = Table("film_sweep", f"{design.SWEEP_ARCH} at heldout_bands 1, 2, 3, seeds 20-22: "
                  "seed mean [min, max] (descriptive; attr_transfer_seen is the floor position "
                  "dependence alone gives, NaN at 3)",
                  ("heldout_bands", "n", "train_acc", OUTCOME, "attr_transfer",
                   "attr_transfer_seen"),
                  tuple((h, int((film["bands"] == h).sum()),
                         *(stats.seed_spread(select.column(film[film["bands"] == h], c)) for c in
                           ("train_acc", OUTCOME, "attr_transfer", "attr_transfer_seen")))
                        for h in (*design.SWEEP, design.BANDS)))
    tests = [kinds.correlation(f"sweep: {column}", f"descriptive: {column} vs heldout_bands, "
                               f"{design.SWEEP_ARCH}", select.column(film, column), film["bands"],
                               film["seed"], settings, permuted="heldout_bands within seed")
             for column in (OUTCOME, "attr_transfer")]
    return table, tests


def analyse(plan: Plan, runs: pd.DataFrame, inputs: dict) -> PlanResult:
    """Analysis v4 on a runs table holding confirm-v4's runs."""
    scope, selection = select.select(runs, plan.study, plan.name)
    status = select.status(selection)
    if status != COMPLETE:
        return PlanResult(**plan.head(status=status, selection=selection))
    done = select.finished(scope)
    settings = plan.settings
    p1 = kinds.paired_gap(
        "P1", f"P1 intervention: {LOCAL} radius={design.INTERVENTION_RADIUS} − {GLOBAL}, "
        f"{OUTCOME} (heldout_bands 3)", _per_seed(done, LOCAL, OUTCOME),
        _per_seed(done, GLOBAL, OUTCOME))
    rows = across(done)
    p2 = _against_retention("P2", "P2 across architectures: cond_locality_ablation vs "
                            "combo_retention", rows, "cond_locality_ablation", settings)
    p1, p2 = kinds.holm([p1, p2])
    p1, p2 = P1_RULE.judge(p1), P2_RULE.judge(p2)
    p3 = P3_RULE.judge(_against_retention("P3", "P3 instrument: attr_transfer vs "
                                          "combo_retention", rows, "attr_transfer", settings))
    table, sweep_tests = sweep(done, settings)
    return PlanResult(**plan.head(status=status, selection=selection),
                      tests=(p1, p2, p3, p4_oracle(scope), *sweep_tests),
                      tables=(per_arch(done), probe_outcomes(done), table),
                      notes=("Holm over P1 and P2 together; a missing p enters as 1.",
                             f"P2 and P3 over {p2.n} and {p3.n} of the 15 heldout_bands-3 runs "
                             "at seeds 20-22 (runs with a NaN left out)."))


def figures(plan: Plan, result: PlanResult, runs: pd.DataFrame) -> list:
    """The page's figures of a complete v4: held-out and seen combination accuracy per
    architecture, each seed; combo_retention against cond_locality_ablation and against
    attr_transfer, a point per run (the sweep's attr_transfer_seen as the floor); the probe
    objects' outcomes; unet-film's combo_retention and attr_transfer against heldout_bands."""
    if result.status != COMPLETE:
        return []
    scope, _ = select.select(runs, plan.study, plan.name)
    done = select.finished(scope)
    archs = (*design.ACROSS, LOCAL, GLOBAL, ORACLE)
    accuracy = {arch: {"held out (A)": select.column(_at(done, arch), "heldout_combo_acc").tolist(),
                       "seen (B)": select.column(_at(done, arch), "seen_combo_acc").tolist()}
                for arch in archs}
    bands3 = done[select.column(done, "task_heldout_bands") == design.BANDS]
    sweep_rows = done[(done["arch"] == design.SWEEP_ARCH)
                      & done["seed"].isin(design.CORE_SEEDS)]
    floor = float(select.column(sweep_rows, "attr_transfer_seen").mean())
    shares = pd.DataFrame([dict(zip(result.table("probe_outcomes").columns, row, strict=True))
                           for row in result.table("probe_outcomes").rows])
    shares = shares.assign(label=shares["arch"] + ": " + shares["probe"])
    film = sweep_rows.assign(bands=select.column(sweep_rows, "task_heldout_bands"))
    points = [{"value": float(h), **{c: {**stats.seed_spread(select.column(at, c)),
                                          "values": select.column(at, c).tolist()}
                                     for c in (OUTCOME, "attr_transfer")}}
              for h, at in film.groupby("bands", sort=True)]
    caption = "analysis v4 (heldout_bands 3 unless stated)"
    return [
        ("v4_combination_accuracy", f"{caption}: the share of probe objects drawn clean in a "
         "held-out combination (A) and in a seen one (B), per architecture: a dot per seed, the "
         "seed mean as a bar, the seeds' range as a line",
         plots.png(plots.seeds_by_arch_figure(accuracy, "probe objects clean"))),
        ("v4_retention_against_scores", f"{caption}: combo_retention against "
         "cond_locality_ablation and against attr_transfer, a point per run; dashed: "
         f"{design.SWEEP_ARCH}'s attr_transfer_seen at heldout_bands 1 and 2 (seed mean), the "
         "floor that position dependence alone gives it (an architecture that paints a color "
         "the same everywhere sits below it)",
         plots.png(plots.runs_against_figure(bands3, OUTCOME, ("cond_locality_ablation",
                                                                "attr_transfer"),
                                             {"attr_transfer": floor}))),
        ("v4_probe_outcomes", f"{caption}: how the probe objects come out, held-out "
         "combination (A) against seen (B), seed mean per architecture",
         plots.png(plots.outcome_bars_figure(shares, ALL_OUTCOMES))),
        ("v4_film_sweep", f"{design.SWEEP_ARCH} at heldout_bands 1, 2, 3 (seeds 20-22): "
         "combo_retention and attr_transfer (seed mean, the seeds' range, each seed)",
         plots.png(plots.dial_figure(f"color-region / {design.SWEEP_ARCH}", "heldout_bands",
                                     points, ((OUTCOME, OUTCOME),
                                              ("attr_transfer", "attr_transfer"))))),
    ]


PLAN = Plan("v4", "attribute binding on color-region, seeds 20-25", PRE_REGISTERED,
            "2026-12-07", STUDY, analyse, SETTINGS, figures=figures)
