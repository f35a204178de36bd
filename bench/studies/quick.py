"""The quick suite: the paper's claims on a laptop, seed 0 (the default of `compbench run`)."""

from bench.studies._common import COMPILED, QUICK_LENGTH_ENTRIES, XATTN_TWIN
from bench.studies.study import Entry, Study

# Attribute binding beside length: color-region at its default heldout_bands 3 (written
# explicitly), one architecture that binds held-out combinations, one local conditioner and the
# global one that fails to (unet-film), so a binding failure is on the default page beside two
# successes. Until 2026-12-07 these rows were unet-heatmap and unet-xattn on `color`, whose
# held-out pairs mostly test length again (docs/design.md, v4).
BINDING = tuple(Entry(arch, task_options=(("heldout_bands", 3),))
                for arch in ("unet-heatmap", "unet-xattn", "unet-film"))

STUDY = Study(
    name="quick",
    description="the paper's claims on a laptop: length, length-single (10 correlated runs, "
    "incl. unet-xattn vs unet-xattn-local, and the analytic-local oracle) and attribute binding "
    "on color-region (3 runs), quick profile, 1 seed",
    profile="quick",
    seeds=(0,),
    entries=(*QUICK_LENGTH_ENTRIES, ("color-region", BINDING)),
    committed="docs/quick",
    overrides=COMPILED,
    twins=(XATTN_TWIN,),
)
