"""GPU path check: a few `paper`-profile steps, sampling and locality on CUDA, memory and steps/s.

    python -m bench.perf.gpu [--archs unet-film,unet-xattn-local,dit] [--steps 20]
    compbench perf gpu ...

Exit codes: 0 = every check passed, or SKIPPED because torch sees no CUDA device (a message says
so); 1 = a check failed (each failure printed with its error); 2 = bad arguments. Finishes in well
under 5 minutes on one GPU. It also prints how many such runs fit on an 80 GB GPU, from the peak
memory it measured (plus a CUDA context per process), and what --gpus-per-run that implies, and
saves the training GFLOP/s it measured (bench.run.rates), the rate at which `compbench run
--dry-run` estimates the paper profile on a GPU.
`--device cpu` runs the same checks on the CPU (to test this script without a GPU).
"""

from __future__ import annotations

import sys
import time
import traceback

import click

import baselines
from bench.core import sampling
from bench.core.diffusion import edm_loss
from bench.metrics import locality
from bench.run import profiles
from bench.run.spec import RunSpec

DEFAULT_ARCHS = ("unet-film", "unet-xattn-local", "dit")
GPU_GB = 80.0
CONTEXT_GB = 0.6  # CUDA context + cuDNN/cuBLAS workspaces per process (typical, not measured here)
# Small data and measurement sizes: the check times steps, it does not train to convergence.
CHECK_OVERRIDES = {"n_train_scenes": 512, "samples_per_k": 8, "sampler_steps": 8,
                   "locality_n": 4}


def _sync(device) -> None:
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _reset_peak(device) -> None:
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _peak_gb(device) -> tuple[float | None, float | None]:
    """(max_memory_allocated, max_memory_reserved) in GB since the last reset (None on CPU)."""
    import torch

    if not str(device).startswith("cuda"):
        return None, None
    return torch.cuda.max_memory_allocated() / 1e9, torch.cuda.max_memory_reserved() / 1e9


def on_device(model, device) -> bool:
    """Whether every parameter and buffer of the model lives on `device`'s type."""
    import torch

    want = torch.device(device).type
    return all(t.device.type == want for t in (*model.parameters(), *model.buffers()))


def check_arch(arch: str, *, task: str, steps: int, device: str) -> dict:
    """Train `steps` paper steps, sample 8 scenes, measure locality (n=4), all on `device`."""
    # Lazy for the CLI's start-up, which imports this module: tasks loads pandas, scipy.
    import tasks as tasks_pkg
    from bench.run.train import train

    row = {"arch": arch, "task": task}
    _reset_peak(device)
    stamps: dict[int, float] = {}
    warm = max(steps // 4, 1)
    spec = RunSpec(task, arch, 0, "paper", {**CHECK_OVERRIDES, "steps": steps,
                                            "warmup_steps": 1, "loss_every": warm})

    def progress(step, n, loss):
        _sync(device)
        stamps[step] = time.perf_counter()

    result = train(spec, device=device, progress=progress)
    if result.log["status"] != "ok":
        raise RuntimeError(f"training {result.log['status']}: {result.log.get('reason')}")
    last = max(stamps)
    row["steps_per_s"] = (last - warm) / (stamps[last] - stamps[warm]) if last > warm else None
    # Lazy for the CLI's start-up, which imports this module: the cost model loads tasks.
    from bench.run import cost_model

    F = cost_model.model_info(spec.task, spec.arch, spec.profile, spec.overrides,
                              spec.arch_overrides, spec.task_options)[0]
    row["train_gflops"] = (row["steps_per_s"] * cost_model.TRAIN_MULTIPLIER * F
                           * spec.profile_resolved().batch_size / 1e9
                           if row["steps_per_s"] else None)
    row["n_params"] = result.log["n_params"]
    row["train_gb"], row["train_reserved_gb"] = _peak_gb(device)
    model = result.model.eval()
    if not on_device(model, device):
        raise RuntimeError(f"model tensors not all on {device} after training")
    p = spec.profile_resolved()
    t = tasks_pkg.get(task, **spec.task_kwargs())
    scenes = t.scenes("test", 3, p.samples_per_k, 0)
    t0 = time.perf_counter()
    x = sampling.generate(model, t, scenes, seed=0, steps=p.sampler_steps, device=device)
    _sync(device)
    row["sample_s"] = time.perf_counter() - t0
    if x.shape != (len(scenes), 3, t.resolution, t.resolution):
        raise RuntimeError(f"samples have shape {x.shape}")
    t0 = time.perf_counter()
    loc = locality.measure(model, t, n=p.locality_n, sigmas=(0.5, 2.0), seed=0)
    _sync(device)
    row["locality_s"] = time.perf_counter() - t0
    row["cond_locality_id"] = loc["id"]["cond_locality"]["mean"]
    row["peak_gb"], row["reserved_gb"] = _peak_gb(device)
    return row


def check_pipeline(arch: str, *, task: str, steps: int, device: str) -> dict:
    """One whole bench.run.execute.execute (pictures, entanglement, checkpoint too) on `device`."""
    # Lazy for the CLI's start-up, which imports this module: it loads tasks, matplotlib.
    from bench.run import execute as pipeline

    _reset_peak(device)
    spec = RunSpec(task, arch, 0, "paper", {**CHECK_OVERRIDES, "steps": steps,
                                            "warmup_steps": 1, "loss_every": steps})
    result = pipeline.execute(spec, device=device)
    if result.status != "ok":
        raise RuntimeError(result.error)
    peak, reserved = _peak_gb(device)
    return {"arch": arch, "task": task, "peak_gb": peak, "reserved_gb": reserved,
            "timings": result.metrics.timings}


def fit_per_gpu(per_run_gb: float, gpu_gb: float = GPU_GB, context_gb: float = CONTEXT_GB) -> int:
    """Runs that fit on one GPU of `gpu_gb` when each needs per_run_gb + a CUDA context."""
    return max(int(gpu_gb // (per_run_gb + context_gb)), 0)


def full_dataset_gb(profile: str = "paper") -> float:
    """GB of one run's training images kept on the device (n_train_scenes x 3 x R x R float32)."""
    p = profiles.get(profile)
    return p.n_train_scenes * 3 * p.resolution**2 * 4 / 1e9


def estimate_train_gb(arch: str, *, task: str = "length", profile: str = "paper",
                      probe_batch: int = 4) -> dict:
    """CPU estimate of one run's training memory: weights, grads, AdamW, EMA, data, activations.

    Activations: bytes of the tensors autograd saves in one forward (distinct storages, counted
    with saved_tensors_hooks) at `probe_batch`, scaled linearly to the profile's batch size.
    """
    import torch

    # Lazy for the CLI's start-up, which imports this module: the trainer loads tasks.
    from bench.run.train import build, training_set

    spec = RunSpec(task, arch, 0, profile)
    p = spec.profile_resolved()
    t, model = build(spec)
    n_params = sum(q.numel() for q in model.parameters())
    y, tokens, mask = training_set(t, probe_batch, 0)  # (b, 3, R, R), ...
    seen: dict[int, int] = {}

    def pack(x):
        if isinstance(x, torch.Tensor) and x.device.type == "cpu":
            st = x.untyped_storage()
            seen[st.data_ptr()] = st.nbytes()
        return x

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda x: x):
        edm_loss(model, y, tokens, mask).mean()
    act = sum(seen.values()) * p.batch_size / probe_batch
    state = n_params * 4 * 5  # weights, grads, 2 AdamW moments, EMA copy (fp32)
    data = full_dataset_gb(profile) * 1e9
    return {"arch": arch, "n_params": n_params, "state_gb": state / 1e9,
            "activations_gb": act / 1e9, "data_gb": data / 1e9,
            "total_gb": (state + act + data) / 1e9}


def _fmt(v, spec=".2f") -> str:
    return "n/a" if v is None else format(v, spec)


@click.command("gpu")
@click.option("--archs", default=",".join(DEFAULT_ARCHS), show_default=True,
              help="Architectures, comma-separated.")
@click.option("--task", default="length", show_default=True)
@click.option("--steps", type=int, default=20, show_default=True,
              help="Paper training steps per arch.")
@click.option("--device", default="cuda", show_default=True, help="cuda, or cpu (a dry run).")
@click.option("--no-pipeline", is_flag=True, help="Skip the whole-pipeline run.")
@click.option("--estimate", is_flag=True,
              help="Only estimate paper-profile training memory per arch (CPU, no GPU).")
@click.pass_context
def check(ctx, archs, task, steps, device, no_pipeline, estimate) -> None:
    """GPU path check of the paper profile; exit 0 passed or skipped (no CUDA), 1 a check
    failed, 2 bad arguments."""
    ctx.exit(run_checks(archs, task, steps, device, no_pipeline, estimate))


def main(argv: list[str] | None = None) -> int:
    """`check` as a function: its exit code (2 for a usage error, whose message is printed)."""
    try:
        code = check.main(args=argv, prog_name="python -m bench.gpu_check", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.UsageError as err:
        err.show()
        return 2
    return code if isinstance(code, int) else 0


def print_estimates(archs: list[str], task: str) -> int:
    """The paper profile's training memory per architecture, no GPU needed."""
    print(f"{'arch':18s} {'params':>8s} {'state GB':>8s} {'activ GB':>8s} {'data GB':>8s} "
          f"{'total GB':>8s} {'runs/80GB':>9s}   (paper profile; + {CONTEXT_GB} GB context)")
    for arch in archs:
        e = estimate_train_gb(arch, task=task)
        print(f"{arch:18s} {e['n_params']:8d} {e['state_gb']:8.3f} {e['activations_gb']:8.2f} "
              f"{e['data_gb']:8.2f} {e['total_gb']:8.2f} {fit_per_gpu(e['total_gb']):9d}")
    return 0


def bad_arguments(archs: list[str], task: str, steps: int) -> str | None:
    """What is wrong with the arguments, naming the valid choices (None where nothing is)."""
    # Lazy for the CLI's start-up, which imports this module: tasks loads pandas, scipy.
    import tasks

    bad = [a for a in archs if a not in baselines.names()]
    if bad or task not in tasks.names() or steps < 2:
        return (f"bad arguments: archs {bad} (choose from {', '.join(baselines.names())}), "
                f"task {task!r} (choose from {', '.join(tasks.names())}), steps {steps} (>= 2)")
    return None


def _guarded(label: str, check) -> dict | None:
    """check()'s result, or None with its failure printed (the checks go on after one)."""
    try:
        return check()
    except Exception as err:
        print(f"{label} FAILED: {type(err).__name__}: {err}")
        traceback.print_exc(limit=3)
        return None


def print_sizing(peaks: list[float]) -> None:
    """How many paper-profile runs fit one GPU, from the largest reserved peak."""
    share = CHECK_OVERRIDES["n_train_scenes"] / profiles.get("paper").n_train_scenes
    extra = full_dataset_gb() * (1 - share)  # the check trained on a smaller set
    per_run = max(peaks) + extra
    n = fit_per_gpu(per_run)
    frac = f"{1 / n:.3g}" if n else "n/a"
    print(f"sizing: largest peak {max(peaks):.2f} GB reserved + {extra:.2f} GB for the full "
          f"paper training set + {CONTEXT_GB} GB context -> {n} concurrent runs per "
          f"{GPU_GB:.0f} GB GPU (--gpus-per-run {frac} or more; each run also takes "
          "--cpus-per-run CPUs, so CPU cores / cpus_per_run caps it too)")


def run_checks(archs: str, task: str, steps: int, device: str, no_pipeline: bool,
               estimate: bool) -> int:
    """The checks; returns the exit code (0 passed or skipped, 1 a check failed, 2 bad input)."""
    import torch

    # Lazy for the CLI's start-up, which imports this module: tasks loads pandas, scipy.
    import tasks

    names = [a for a in archs.split(",") if a]
    if estimate:
        return print_estimates(names, task)
    if device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_check SKIPPED: torch sees no CUDA device (torch "
              f"{torch.__version__}, CUDA build {torch.version.cuda}); nothing was checked. "
              "Run it on a machine with a GPU.")
        return 0
    problem = bad_arguments(names, task, steps)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if device.startswith("cuda"):
        print(f"device: {torch.cuda.get_device_name()} "
              f"({torch.cuda.get_device_properties(0).total_memory / 1e9:.0f} GB)")
    failures, peaks, t_start, gflops = 0, [], time.perf_counter(), {}
    print(f"{'arch':18s} {'params':>8s} {'steps/s':>8s} {'train GB':>8s} {'peak GB':>8s} "
          f"{'reserved':>8s} {'sample s':>8s} {'locality s':>10s}")
    for arch in names:
        r = _guarded(f"{arch:18s}", lambda a=arch: check_arch(a, task=task, steps=steps,
                                                              device=device))
        if r is None:
            failures += 1
            continue
        peaks.append(r["reserved_gb"] or 0.0)
        if r["train_gflops"]:
            gflops[arch] = r["train_gflops"]
        print(f"{arch:18s} {r['n_params']:8d} {_fmt(r['steps_per_s']):>8s} "
              f"{_fmt(r['train_gb']):>8s} {_fmt(r['peak_gb']):>8s} {_fmt(r['reserved_gb']):>8s} "
              f"{r['sample_s']:8.2f} {r['locality_s']:10.2f}")
    if not no_pipeline:
        pipe_task = "color" if "color" in tasks.names() else task
        label = f"pipeline.execute {names[0]} {pipe_task}:"
        r = _guarded(label, lambda: check_pipeline(names[0], task=pipe_task, steps=steps,
                                                   device=device))
        if r is None:
            failures += 1
        else:
            peaks.append(r["reserved_gb"] or 0.0)
            stages = ", ".join(f"{k} {v:.1f}s" for k, v in r["timings"].items())
            print(f"{label} ok, peak {_fmt(r['peak_gb'])} GB; {stages}")
    if peaks and device.startswith("cuda"):
        print_sizing(peaks)
    if gflops and device.startswith("cuda"):  # the paper profile's rate of `run --dry-run`
        # Lazy for the CLI's start-up, which imports this module: the rates load tasks.
        from bench.run import rates

        path = rates.record_gpu(torch.cuda.get_device_name(), gflops)
        print("training GFLOP/s (layer FLOPs, bench.run.cost_model): " + ", ".join(
            f"{a} {v:.0f}" for a, v in gflops.items()) + f"; the median saved in {path}")
    print(f"{'FAILED' if failures else 'ok'}: {failures} failure(s) in "
          f"{time.perf_counter() - t_start:.0f} s on {device}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
