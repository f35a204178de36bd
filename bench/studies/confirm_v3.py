"""The confirm-v3 suite: analysis v3's design (pre-registered 2026-12-04), seeds 4-9: the
attention-radius dial of unet-xattn-local on length-single, and its global twin."""

from bench.studies._common import COMPILED, XATTN_TWIN
from bench.studies.study import Dial, DialPoint, Entry, Study

RADII = (0.08, 0.15, 0.3, 0.6, 0.99)
DIAL_SEEDS = (4, 5, 6)
SEEDS = (4, 5, 6, 7, 8, 9)
INTERVENTION_RADIUS = 0.15  # written explicitly, so all six of its runs share one variant
TASK = "length-single"

STUDY = Study(
    name="confirm-v3",
    description="the pre-registered v3 analysis: unet-xattn-local at radius 0.08, 0.15, 0.3, "
    "0.6, 0.99 (seeds 4-6; 0.15 also 7-9) and unet-xattn (seeds 4-9) on length-single; "
    "quick profile, 24 runs, into results-confirm-v3",
    # The training-recipe study (experiments/training-recipe) adopted none of its candidates, so
    # v3 trains the `quick` profile as it is, as planned.
    profile="quick",
    seeds=SEEDS,
    entries=((TASK, (
        *(Entry(XATTN_TWIN.local, (("radius", r),),
                SEEDS if r == INTERVENTION_RADIUS else DIAL_SEEDS) for r in RADII),
        Entry(XATTN_TWIN.global_, seeds=SEEDS),
    )),),
    registered="2026-12-04",
    out="results-confirm-v3",
    committed="docs/confirm-v3",
    # The quick suite's kernels and layout, untracked (v3 reads final scores only).
    overrides=(*COMPILED, ("track_points", 0)),
    twins=(XATTN_TWIN,),
    dials=(Dial("radius", TASK, tuple(DialPoint(XATTN_TWIN.local, r, (("radius", r),))
                                      for r in RADII)),),
)
