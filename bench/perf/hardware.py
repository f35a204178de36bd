"""The CPU's peak FP32 throughput: cores x clock x FLOPs per cycle, from /proc/cpuinfo and /sys.

FLOPs per cycle and core by vector extension (FP32, one fused multiply-add = 2 FLOPs):
AVX-512F with 2 FMA units: 2 x 16 lanes x 2 = 64; AVX2 + FMA with 2 FMA units: 2 x 8 x 2 = 32;
AVX without FMA (1 add + 1 mul port): 2 x 8 = 16; SSE2: 2 x 4 = 8. Several AVX-512 parts have
a single 512-bit FMA unit (then 32), so the peak is an upper bound. Every CPU the process may use
counts as one core; where they are SMT siblings of one physical core the peak is overstated 2x.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from bench.run.provenance import parse_cpuinfo  # one parser of /proc/cpuinfo, used here too
from bench.run.threads import torch_threads

CPUINFO = Path("/proc/cpuinfo")
CPUFREQ_MAX = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")  # kHz

# (flags that must all be present, FP32 FLOPs per cycle per core, why), best first.
VECTOR_RULES: tuple[tuple[tuple[str, ...], int, str], ...] = (
    (("avx512f",), 64, "AVX-512F: 2 FMA units x 16 fp32 lanes x 2 FLOPs"),
    (("avx2", "fma"), 32, "AVX2+FMA: 2 FMA units x 8 fp32 lanes x 2 FLOPs"),
    (("avx",), 16, "AVX without FMA: 1 add + 1 mul unit x 8 fp32 lanes"),
    (("sse2",), 8, "SSE2: 1 add + 1 mul unit x 4 fp32 lanes"),
)


def flops_per_cycle(flags) -> tuple[int, str]:
    """(FP32 FLOPs per cycle per core, reason) from the CPU flags (VECTOR_RULES)."""
    for need, flops, why in VECTOR_RULES:
        if all(f in flags for f in need):
            return flops, why
    return 2, "no SIMD flags found: 1 scalar FMA per cycle"


def _clock_from_name(model_name: str) -> float | None:
    """The nominal clock in MHz written in a model name ("... @ 2.20GHz"), if any."""
    m = re.search(r"([0-9.]+)\s*GHz", model_name)
    return float(m.group(1)) * 1000 if m else None


def cpu_peak(cpuinfo_text: str | None = None, *, max_freq_khz: str | None = None,
             cores: int | None = None) -> dict:
    """Peak FP32 GFLOP/s = cores x clock x FLOPs/cycle, with the assumptions as text.

    Clock: /sys cpufreq cpuinfo_max_freq if readable, else the model name's "@ x GHz", else
    /proc/cpuinfo "cpu MHz" (the current clock). cores: CPUs this process may run on.
    """
    if cpuinfo_text is None:
        cpuinfo_text = CPUINFO.read_text() if CPUINFO.is_file() else ""
    if max_freq_khz is None and CPUFREQ_MAX.is_file():
        max_freq_khz = CPUFREQ_MAX.read_text()
    info = parse_cpuinfo(cpuinfo_text)
    if max_freq_khz and max_freq_khz.strip():
        mhz, clock_source = float(max_freq_khz) / 1000, "cpufreq cpuinfo_max_freq"
    elif _clock_from_name(info["model_name"]):
        mhz, clock_source = _clock_from_name(info["model_name"]), "nominal clock in model name"
    elif info["cpu_mhz"]:
        mhz, clock_source = info["cpu_mhz"], "/proc/cpuinfo cpu MHz (current, not max/turbo)"
    else:
        raise ValueError("no clock found: no cpufreq max, no '@ x GHz' in the model name and no "
                         "'cpu MHz' in /proc/cpuinfo")
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    fpc, why = flops_per_cycle(info["flags"])
    per_core = mhz * 1e-3 * fpc  # GFLOP/s
    return {
        "model_name": info["model_name"], "cores": int(cores), "clock_mhz": mhz,
        "flops_per_cycle": fpc, "peak_gflops_per_core": per_core,
        "peak_gflops": per_core * cores,
        "assumptions": [
            f"clock {mhz:.0f} MHz from {clock_source}",
            f"{fpc} FP32 FLOPs/cycle/core ({why}); upper bound",
            f"{cores} cores = CPUs this process may use (SMT siblings would overstate the peak)",
        ],
    }


def describe_peak(peak: dict) -> str:
    """One line: the peak and how it was computed."""
    return (f"CPU peak {peak['peak_gflops']:.1f} GFLOP/s fp32 = {peak['cores']} cores x "
            f"{peak['clock_mhz'] / 1000:.2f} GHz x {peak['flops_per_cycle']} FLOPs/cycle "
            f"({peak['model_name']}; {'; '.join(peak['assumptions'])})")


def measured_peak(threads: int = 1, *, n: int = 2048, repeats: int = 5) -> dict:
    """Achievable FP32 GFLOP/s: best of `repeats` torch.mm of two (n, n) matrices on `threads`
    torch threads (2 n^3 FLOPs each), beside the wall seconds of the best one."""
    import time

    import torch

    with torch_threads(threads):
        gen = torch.Generator().manual_seed(0)
        a = torch.randn(n, n, generator=gen)  # (n, n)
        b = torch.randn(n, n, generator=gen)  # (n, n)
        torch.mm(a, b)  # warm-up: first-call allocation and dispatch
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - t0)
    gflops = 2 * n**3 / best / 1e9
    return {"threads": threads, "n": n, "repeats": repeats, "seconds": best,
            "gflops": gflops, "gflops_per_thread": gflops / threads}
