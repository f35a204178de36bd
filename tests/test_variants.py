"""Rows are labelled by what differs between them, without the rounding-only kernel choices."""

from __future__ import annotations

from leaderboard.variants import short_labels

BASE = "quick+train_kernels=compiled+train_memory_format=channels_last"


def test_only_the_differing_part_is_shown():
    labels = short_labels([BASE, f"{BASE}+arch:radius=0.3", f"{BASE}+arch:radius=0.08"])
    assert labels == {BASE: "", f"{BASE}+arch:radius=0.3": "radius=0.3",
                      f"{BASE}+arch:radius=0.08": "radius=0.08"}


def test_profiles_are_named_where_they_differ():
    labels = short_labels(["quick", "smoke+steps=5"])
    assert labels == {"quick": "quick", "smoke+steps=5": "smoke, steps=5"}
    assert short_labels([BASE]) == {BASE: ""}
