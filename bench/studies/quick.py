"""The quick suite: the paper's claims on a laptop, seed 0 (the default of `compbench run`)."""

from bench.studies._common import COMPILED, ORACLE, QUICK_LENGTH, XATTN_TWIN
from bench.studies.study import Study

STUDY = Study(
    name="quick",
    description="the paper's claims on a laptop: length, length-single (10 correlated runs, "
    "incl. unet-xattn vs unet-xattn-local, and the analytic-local oracle) and color, quick "
    "profile, 1 seed",
    profile="quick",
    seeds=(0,),
    entries=(
        ("length", (*QUICK_LENGTH, ORACLE)),
        ("length-single", (*QUICK_LENGTH, ORACLE)),
        ("color", ("unet-heatmap", "unet-xattn")),
    ),
    committed="docs/quick",
    overrides=COMPILED,
    twins=(XATTN_TWIN,),
)
