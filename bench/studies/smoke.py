"""The smoke suite: CI's end-to-end check."""

from bench.studies.study import Study

STUDY = Study(
    name="smoke",
    description="CI end-to-end check: 3 architectures on `length`, 1 seed, smoke profile",
    profile="smoke",
    seeds=(0,),
    entries=(("length", ("conv-heatmap-rf5", "unet-heatmap", "unet-xattn")),),
)
