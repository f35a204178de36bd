"""The full suite: every trained architecture on every task, paper profile."""

from bench.studies.study import ALL, Study

STUDY = Study(
    name="full",
    description="every baseline x every task x 3 seeds, paper profile (a cluster or a GPU)",
    profile="paper",
    seeds=(0, 1, 2),
    entries=((ALL, (ALL,)),),
)
