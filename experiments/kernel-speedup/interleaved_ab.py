# As run, not maintained against main: part of the record in experiments/kernel-speedup
# (README.md there). It names the paths of the machine it ran on and docs/speedup/, where
# the study's files then lived; its later edits are in `git log --follow`.
"""Interleaved A/B of training-step variants in one process: median CPU ms/step over blocks.

`python docs/speedup/interleaved_ab.py ARCH,... VARIANT,... [BLOCKS] [TASK]`; a variant's name
lists its parts: foreach | fused (AdamW), cl (channels-last), compile, mm1x1 (Inductor's
conv_1x1_as_mm), autotune (Inductor's max_autotune), cppwrap (Inductor's cpp_wrapper: the compiled
graph called from C++, not Python), nomkldnn; for the conv nets' LocalBlock,
region (its two norm-SiLU stretches compiled on their own, the convolutions left eager) and lin
(its 1x1 convolutions as F.linear over the channels-last pixels). With AB_PROFILE=1 it then
prints torch.profiler's table (self CPU time, by input shape) of 10 more steps of each variant.
"""

import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from baselines.conv import LocalBlock
from bench.core.diffusion import edm_loss
from bench.run.spec import RunSpec
from bench.run.train import build, make_batch, training_set

torch.set_num_threads(1)
archs = sys.argv[1].split(",")
variants = sys.argv[2].split(",")
blocks = int(sys.argv[3]) if len(sys.argv) > 3 else 5
task_name = sys.argv[4] if len(sys.argv) > 4 else "length"


def norm_silu(h, norm):
    """SiLU of PixelNorm(h): h (B, C, H, W) -> same."""
    return F.silu(norm(h))


def norm_modulate_silu(r, norm, scale, shift):
    """SiLU of PixelNorm(r) scale-shifted: r (B, C, H, W), scale and shift (B, C, 1, 1)."""
    return F.silu(norm(r) * (1 + scale) + shift)


def conv1x1_linear(h, conv):
    """A 1x1 convolution of h (B, C, H, W) as a matrix product over its pixels."""
    out = F.linear(h.permute(0, 2, 3, 1), conv.weight[:, :, 0, 0], conv.bias)  # (B, H, W, C')
    return out.permute(0, 3, 1, 2)  # (B, C', H, W)


def patch_local_blocks(model, region: bool, lin: bool) -> None:
    """LocalBlock.forward (same computation) with the `region` and `lin` variants."""
    first = torch.compile(norm_silu, dynamic=False) if region else norm_silu
    second = torch.compile(norm_modulate_silu, dynamic=False) if region else norm_modulate_silu

    def forward(block, h, emb):
        a = first(h, block.norm1)
        r = conv1x1_linear(a, block.conv) if lin and block.conv.kernel_size == (1, 1) \
            else block.conv(a)
        scale, shift = block.modulation(emb)[:, :, None, None].chunk(2, dim=1)
        m = second(r, block.norm2, scale, shift)
        return h + (conv1x1_linear(m, block.mix) if lin else block.mix(m))

    for block in model.modules():
        if isinstance(block, LocalBlock):
            block.forward = forward.__get__(block)


def setup(arch, variant):
    spec = RunSpec(task_name, arch, 0, "quick", {"n_train_scenes": 256})
    p = spec.profile_resolved()
    task, model = build(spec)
    single = getattr(model, "conditioning", "joint") == "single"
    data = training_set(task, 256, 0)
    gen = torch.Generator().manual_seed(1)
    ng = torch.Generator().manual_seed(2)
    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(
        params, lr=1e-3, **({"fused": True} if "fused" in variant else {"foreach": True})
    )
    cl = "cl" in variant
    if cl:
        model.to(memory_format=torch.channels_last)
    # The option goes to torch.compile itself (as bench.run.kernels does): a config patch around
    # the first step let a later variant reuse the graph an earlier one had compiled.
    options = {"conv_1x1_as_mm": "mm1x1" in variant, "max_autotune": "autotune" in variant,
               "cpp_wrapper": "cppwrap" in variant}
    if "region" in variant or "lin" in variant:
        patch_local_blocks(model, "region" in variant, "lin" in variant)
    fwd = torch.compile(model, options=options) if "compile" in variant else model
    nomk = "nomkldnn" in variant

    def step():
        y, t, m = make_batch(data, p, single, gen)
        if cl:
            y = y.contiguous(memory_format=torch.channels_last)
        with torch.backends.mkldnn.flags(enabled=not nomk):
            loss = edm_loss(fwd, y, t, m, generator=ng).mean()
            opt.zero_grad()
            loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        loss.item()
        opt.step()

    t = time.perf_counter()
    step()
    first = time.perf_counter() - t
    for _ in range(3):
        step()
    return step, first


for arch in archs:
    steps = {v: setup(arch, v) for v in variants}
    cpu = {v: [] for v in variants}
    wall = {v: [] for v in variants}
    for _ in range(blocks):
        for v in variants:
            w0, c0 = time.perf_counter(), time.process_time()
            for _ in range(10):
                steps[v][0]()
            wall[v].append((time.perf_counter() - w0) * 100)
            cpu[v].append((time.process_time() - c0) * 100)
    base = statistics.median(cpu[variants[0]])
    for v in variants:
        c = statistics.median(cpu[v])
        print(
            f"{arch:18s} {v:18s} cpu {c:6.1f} ms/step (x{base / c:4.2f})  "
            f"wall {statistics.median(wall[v]):6.1f}  first {steps[v][1]:5.1f}s",
            flush=True,
        )
    if os.environ.get("AB_PROFILE") == "1":
        for v in variants:
            with torch.profiler.profile(record_shapes=True) as prof:
                for _ in range(10):
                    steps[v][0]()
            table = prof.key_averages(group_by_input_shape=True).table(
                sort_by="self_cpu_time_total", row_limit=25, max_name_column_width=30,
                max_shapes_column_width=100)
            print(f"{arch} {v}: 10 steps\n{table}", flush=True)
