"""Scenes as plain data: objects with image coordinates and CLEVR attribute names; JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

# CLEVR's eight colors (RGB 0..255, as in CLEVR's `properties.json`), three shapes, two sizes.
COLORS: dict[str, tuple[int, int, int]] = {
    "gray": (87, 87, 87),
    "red": (173, 35, 35),
    "blue": (42, 75, 215),
    "green": (29, 105, 20),
    "brown": (129, 74, 25),
    "purple": (129, 38, 192),
    "cyan": (41, 208, 208),
    "yellow": (255, 238, 51),
}
COLOR_NAMES: tuple[str, ...] = tuple(COLORS)
SHAPES: tuple[str, ...] = ("sphere", "cube", "cylinder")
SIZES: tuple[str, ...] = ("small", "large")


@dataclass(frozen=True)
class SceneObject:
    """One object: centre (x right, y down, in [0, 1] image widths), color, shape and size names."""

    x: float
    y: float
    color: str
    shape: str
    size: str

    def __post_init__(self) -> None:
        for attr, value, valid in (
            ("color", self.color, COLOR_NAMES),
            ("shape", self.shape, SHAPES),
            ("size", self.size, SIZES),
        ):
            if value not in valid:
                raise ValueError(f"unknown object {attr} {value!r}; valid: {', '.join(valid)}")
        for attr, value in (("x", self.x), ("y", self.y)):
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"object {attr}={value!r} is outside the image; valid: [0, 1]")


@dataclass(frozen=True)
class Scene:
    """Objects of one image, which of them are labelled (conditioned on), and its seed (-1:
    imported)."""

    objects: tuple[SceneObject, ...]
    labelled: tuple[int, ...]
    seed: int = -1
    split: str = ""
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "objects", tuple(self.objects))
        object.__setattr__(self, "labelled", tuple(int(i) for i in self.labelled))
        bad = [i for i in self.labelled if not 0 <= i < len(self.objects)]
        if bad:
            raise ValueError(f"labelled indices {bad} out of range for {len(self.objects)} objects")
        if len(set(self.labelled)) != len(self.labelled):
            raise ValueError(f"labelled indices repeat: {list(self.labelled)}")

    @property
    def k(self) -> int:
        """Number of labelled objects (= the tokens this scene conditions on)."""
        return len(self.labelled)

    @property
    def labelled_objects(self) -> list[SceneObject]:
        """The labelled objects, in token-slot order."""
        return [self.objects[i] for i in self.labelled]

    def to_dict(self) -> dict:
        """A JSON-serialisable dict."""
        return {
            "objects": [asdict(o) for o in self.objects],
            "labelled": list(self.labelled),
            "seed": int(self.seed),
            "split": self.split,
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Scene:
        """Inverse of `to_dict`."""
        try:
            objects = tuple(SceneObject(**o) for o in data["objects"])
            return cls(
                objects=objects,
                labelled=tuple(data["labelled"]),
                seed=int(data.get("seed", -1)),
                split=str(data.get("split", "")),
                meta=dict(data.get("meta", {})),
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"not a scene: {err}") from err

    def to_json(self) -> str:
        """The scene as a JSON string."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | dict) -> Scene:
        """Inverse of `to_json` (also accepts the already-parsed dict)."""
        return cls.from_dict(text if isinstance(text, dict) else json.loads(text))
