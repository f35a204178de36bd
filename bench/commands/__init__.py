"""Click subcommands of `compbench`; each calls an importable function."""
