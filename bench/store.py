"""Old import path of `bench.results.store`, kept for users' code: it is that module."""

import sys

from bench.results import store as _module

sys.modules[__name__] = _module
