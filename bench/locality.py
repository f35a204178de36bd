"""Old import path of `bench.metrics.locality`, kept for users' code: it is that module."""

import sys

from bench.metrics import locality as _module

sys.modules[__name__] = _module
