"""Color composition: objects conditioned on (location, color); held-out color pairs never co-occur
in a training scene, and test scenes hold more objects than training scenes."""

from __future__ import annotations

from tasks.base import Task
from tasks.registry import TASKS
from tasks.scene import COLOR_NAMES, Scene, SceneObject

# Four disjoint pairs covering all eight colors: each color has exactly one held-out partner.
HELDOUT_PAIRS: tuple[frozenset[str], ...] = (
    frozenset({"red", "cyan"}),
    frozenset({"blue", "yellow"}),
    frozenset({"green", "purple"}),
    frozenset({"gray", "brown"}),
)
PARTNER: dict[str, str] = {c: next(iter(p - {c})) for p in HELDOUT_PAIRS for c in p}


def color_one_hot(color: str) -> list[float]:
    """The token entries of a color: one-hot over the palette (COLOR_NAMES order)."""
    return [1.0 if c == color else 0.0 for c in COLOR_NAMES]


def has_heldout_pair(colors) -> bool:
    """Whether the colors include both members of a held-out pair."""
    present = set(colors)
    return any(pair <= present for pair in HELDOUT_PAIRS)


class ColorTask(Task):
    """Tokens (x, y, one-hot color); training scenes never hold a held-out color pair."""

    name = "color"
    version = 2  # 2: per-object outcomes; placed, all_present as docs/design.md defines them
    description = ("objects conditioned on (x, y, color); held-out color pairs (red+cyan, "
                   "blue+yellow, green+purple, gray+brown) never share a training scene")
    token_dim = 2 + len(COLOR_NAMES)
    conditions_on_color = True
    train_acc_excludes_heldout = True
    holds_out_pairs = True

    def _colors(self, u: list[float], split: str, centres) -> list[str]:
        colors = super()._colors(u, split, centres)
        k = len(colors)
        if split == "train":
            # Each object in turn: a color whose held-out partner is not already in the scene.
            for j in range(k):
                banned = {PARTNER[c] for c in colors[:j]}
                if colors[j] in banned:
                    allowed = [c for c in COLOR_NAMES if c not in banned]
                    colors[j] = allowed[int(u[j] * len(allowed))]
        return colors

    def attributes(self, obj: SceneObject) -> list[float]:
        return color_one_hot(obj.color)

    def combination_seen(self, color: str, quadrant: int) -> bool:
        """Whether training shows `color` in `quadrant` (tasks.color_region.quadrant): always
        here, since only pairs are held out."""
        return True

    def heldout_pair(self, scene: Scene) -> bool:
        """Whether the scene's labelled objects hold a held-out color pair."""
        return has_heldout_pair(o.color for o in scene.labelled_objects)


TASKS.register(ColorTask.name, ColorTask, ColorTask.description)
