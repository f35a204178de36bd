"""The confirm-v4 suite: analysis v4's design (pre-registered 2026-12-07), seeds 20-25: attribute
binding on color-region. At heldout_bands 3 (each color seen in one quadrant only) the receptive
field's ends, the global conditioner (film) and the locality intervention (xattn-local at radius
0.15 beside xattn, which also run on seeds 23-25), the training-free oracle on seed 20 (a known
failure), and, descriptive, unet-film at heldout_bands 1 and 2."""

from bench.studies._common import COMPILED, ORACLE, XATTN_TWIN
from bench.studies.study import Dial, DialPoint, Entry, Study

TASK = "color-region"
BANDS = 3  # the primary setting, written explicitly in every entry
SEEDS = (20, 21, 22, 23, 24, 25)
CORE_SEEDS = (20, 21, 22)  # P2, P3 and the descriptive sweep
INTERVENTION_RADIUS = 0.15
ACROSS = ("unet-heatmap", "conv-heatmap-rf5", "unet-film")  # with the twins: P2's 15 runs
SWEEP_ARCH = "unet-film"
SWEEP = (1, 2)  # heldout_bands of the descriptive sweep (3 is the primary setting)


def _bands(h: int) -> tuple:
    return (("heldout_bands", h),)


STUDY = Study(
    name="confirm-v4",
    description="the pre-registered v4 analysis: color-region at heldout_bands 3: unet-heatmap, "
    "conv-heatmap-rf5, unet-film (seeds 20-22), unet-xattn-local radius 0.15 and unet-xattn "
    "(seeds 20-25), analytic-local (seed 20); unet-film at heldout_bands 1 and 2 (seeds 20-22); "
    "quick profile, 28 runs, into results-confirm-v4",
    profile="quick",
    seeds=CORE_SEEDS,
    entries=((TASK, (
        *(Entry(arch, task_options=_bands(BANDS)) for arch in ACROSS),
        Entry(XATTN_TWIN.local, (("radius", INTERVENTION_RADIUS),), SEEDS, _bands(BANDS)),
        Entry(XATTN_TWIN.global_, seeds=SEEDS, task_options=_bands(BANDS)),
        Entry(ORACLE, seeds=(20,), task_options=_bands(BANDS)),
        *(Entry(SWEEP_ARCH, task_options=_bands(h)) for h in SWEEP),
    )),),
    registered="2026-12-07",
    out="results-confirm-v4",
    committed="docs/confirm-v4",
    # confirm-v3's profile: the quick suite's kernels and layout, untracked.
    overrides=(*COMPILED, ("track_points", 0)),
    twins=(XATTN_TWIN,),
    dials=(Dial("heldout_bands", TASK, tuple(DialPoint(SWEEP_ARCH, h, task_options=_bands(h))
                                             for h in (*SWEEP, BANDS))),),
)
