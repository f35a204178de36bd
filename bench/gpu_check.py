"""Old entry point `python -m bench.gpu_check`: runs `bench.perf.gpu` (same options)."""

from bench.perf.gpu import main

if __name__ == "__main__":
    raise SystemExit(main())
