"""The contracts every architecture and every task meets, as functions: `compbench check` runs
them on one entry (a plugin before its first training run), and the contract tests on every
registered one."""
