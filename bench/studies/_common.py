"""Parts several studies share, each named once."""

from bench.studies.study import DialPoint, Twin

# The quick architectures of the length tasks: the receptive-field sweep's ends (conv-rf5,
# unet-heatmap), the global conditioners (film, xattn) and the intervention (xattn-local).
QUICK_LENGTH = ("unet-heatmap", "conv-heatmap-rf5", "unet-film", "unet-xattn", "unet-xattn-local")
# The training-free local-score oracle: a reference row beside the trained ones (the analyses
# take trained rows only).
ORACLE = "analytic-local"
# The quick suite's length rows (both tasks: the five architectures and the oracle), which the
# eager record and today's quick suite share.
QUICK_LENGTH_ENTRIES = (("length", (*QUICK_LENGTH, ORACLE)),
                        ("length-single", (*QUICK_LENGTH, ORACLE)))
# The locality intervention: the cross-attention UNet whose tokens act within a radius of their
# object, beside the same network without that bound.
XATTN_TWIN = Twin(local="unet-xattn-local", global_="unet-xattn")
# The receptive-field dial: fully convolutional heatmap presets with receptive fields 5-17 px, and
# the UNet (rf = infinity, ranked last).
RF_DIAL_POINTS = (
    DialPoint("conv-heatmap-rf5", 5), DialPoint("conv-heatmap-rf9", 9),
    DialPoint("conv-heatmap-rf13", 13), DialPoint("conv-heatmap-rf17", 17),
    DialPoint("unet-heatmap", float("inf")),
)
# The quick suite's kernels and layout (bench.run.kernels): the same loss and update as eager,
# contiguous training, rounded differently, faster per step (experiments/kernel-speedup).
COMPILED = (("train_kernels", "compiled"), ("train_memory_format", "channels_last"))
