"""Click subcommands of `compbench`; each calls an importable function.

`compbench --help` imports every module here, so what loads tasks, matplotlib or leaderboard (the
suites, the trainer, the reports) is imported inside the function that needs it, with a comment
saying so; tests/test_layout.py checks that the CLI starts without them.
"""
