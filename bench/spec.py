"""Old import path of `bench.run.spec`, kept for users' code: it is that module."""

import sys

from bench.run import spec as _module

sys.modules[__name__] = _module
