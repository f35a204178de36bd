"""The confirm suite: analysis v2's design (pre-registered 2026-12-01), seeds 1-3."""

from bench.studies._common import QUICK_LENGTH, RF_DIAL_POINTS, XATTN_TWIN
from bench.studies.study import Dial, Study

STUDY = Study(
    name="confirm",
    description="the pre-registered v2 analysis: seeds 1-3 of the quick architectures on "
    "length and length-single, plus the receptive-field dial (rf 9, 13, 17) on "
    "length-single; quick profile, 39 runs, into results-confirm",
    profile="quick",
    seeds=(1, 2, 3),
    entries=(
        ("length", QUICK_LENGTH),
        ("length-single", (*QUICK_LENGTH, "conv-heatmap-rf9", "conv-heatmap-rf13",
                           "conv-heatmap-rf17")),
    ),
    registered="2026-12-01",
    out="results-confirm",
    committed="docs/confirm",
    # Its results are the v2 evidence: its runs stay as they were first planned, untracked.
    overrides=(("track_points", 0),),
    twins=(XATTN_TWIN,),
    dials=(Dial("receptive field", "length-single", RF_DIAL_POINTS),),
)
