"""The quick suite as it ran before compiled kernels (eager, contiguous training): the design
analysis v1 was written on. A record, not a suite: its results are docs/quick-eager."""

from bench.studies.quick import STUDY as QUICK
from bench.studies.study import Study

STUDY = Study(
    name="quick-eager",
    description="the quick suite before compiled kernels (eager, contiguous training), seed 0: "
    "the runs analysis v1 was written on",
    profile=QUICK.profile,
    seeds=QUICK.seeds,
    entries=QUICK.entries,
    committed="docs/quick-eager",
    twins=QUICK.twins,
    suite=False,
)
