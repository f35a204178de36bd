"""The quick suite as it ran before compiled kernels (eager, contiguous training): the design
analysis v1 was written on. A record, not a suite: its results are docs/quick-eager."""

from bench.studies._common import QUICK_LENGTH_ENTRIES, XATTN_TWIN
from bench.studies.study import Study

STUDY = Study(
    name="quick-eager",
    description="the quick suite before compiled kernels (eager, contiguous training), seed 0: "
    "the runs analysis v1 was written on",
    profile="quick",
    seeds=(0,),
    entries=(*QUICK_LENGTH_ENTRIES, ("color", ("unet-heatmap", "unet-xattn"))),
    committed="docs/quick-eager",
    twins=(XATTN_TWIN,),
    suite=False,
)
