"""The results format: the store, the metrics.json schema, atomic writes and shared definitions.

A leaf of the harness (stdlib and numpy only): the leaderboard reads results through it alone.
"""

from bench.results.definitions import (
    ATTRIBUTE_METRICS,
    BINDING_METRICS,
    COMPETENCE,
    DIRECTIONS,
    ID_LENGTHS,
    LOCALITY_METRICS,
    OOD_LENGTHS,
    RECORD_ONLY_FIELDS,
    WINDOWS,
    higher_is_better,
)
from bench.results.io import atomic_write, canonical_json, config_hash, jsonable, sha256
from bench.results.schema import SCHEMA_VERSION, Metrics
from bench.results.store import IncompatibleResultsError, RunResult, RunState, Store

__all__ = [
    "ATTRIBUTE_METRICS", "BINDING_METRICS", "COMPETENCE", "DIRECTIONS", "ID_LENGTHS",
    "LOCALITY_METRICS", "OOD_LENGTHS",
    "RECORD_ONLY_FIELDS", "SCHEMA_VERSION", "WINDOWS", "IncompatibleResultsError", "Metrics",
    "RunResult", "RunState", "Store",
    "atomic_write", "canonical_json", "config_hash", "higher_is_better", "jsonable", "sha256",
]
