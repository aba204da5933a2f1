"""Tiny Shapes: a synthetic text-to-image world whose prompt/image alignment can be measured exactly.

Images are 64x64 RGB, a flat background colour and one or two flat shapes. Every caption fully
determines the image (render(parse(caption)) is a pure function), so a judge can score a generated
image attribute by attribute against its prompt.

Caption grammar (lower case ASCII, single spaces, no punctuation; see README.md):

    caption  := "a " object [ " and a " object ] " on a " colour " background"
    object   := [ size " " ] colour " " shape [ " at the " position ]
    size     := "small" | "large"
    colour   := "red" | "green" | "blue" | "yellow" | "white" | "black" | "purple" | "orange"
    shape    := "circle" | "square" | "triangle"
    position := "top left" | "top" | "top right" | "left" | "center" | "right"
              | "bottom left" | "bottom" | "bottom right"

Semantic constraints: shape colours differ from the background; two shapes have different colours
and different positions. Size and position are optional in the grammar (the judge then does not
check them) but every training caption and every evaluation prompt written by this module states
them, so a caption determines its image exactly.

Rasterisation (integer arithmetic, no anti-aliasing, identical in the C# port): pixel (row y,
column x) has its centre at (x + 0.5, y + 0.5). In doubled coordinates px = 2x + 1, py = 2y + 1,
a shape with centre (cx, cy) and half-size r (doubled: CX = 2cx, CY = 2cy, R = 2r) covers the pixel
when
    circle:   (px-CX)^2 + (py-CY)^2 <= R^2
    square:   |px-CX| <= R and |py-CY| <= R
    triangle: py <= CY + R and 2*|px-CX| <= py - (CY - R)      (apex up, base at the bottom)
Shapes are drawn in caption order (they never overlap: cells are 21 px apart, large r = 10).
"""
from __future__ import annotations

import argparse
import os
import random
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

IMAGE_SIZE = 64

# Well separated flat colours (minimum pairwise RGB distance ~ 83, yellow/orange).
PALETTE = {
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (40, 70, 220),
    "yellow": (240, 220, 50),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
    "purple": (150, 60, 190),
    "orange": (245, 140, 30),
}
COLOURS = list(PALETTE.keys())
SHAPES = ["circle", "square", "triangle"]
SIZES = {"small": 6, "large": 10}  # half-size r in pixels
# Cell centres: x and y in {11, 32, 53} (the centres of a 3x3 grid of ~21.3 px cells).
_AXIS = {0: 11, 1: 32, 2: 53}
POSITIONS = {
    "top left": (0, 0), "top": (1, 0), "top right": (2, 0),
    "left": (0, 1), "center": (1, 1), "right": (2, 1),
    "bottom left": (0, 2), "bottom": (1, 2), "bottom right": (2, 2),
}  # name -> (column, row) of the grid cell
POSITION_NAMES = list(POSITIONS.keys())

# Held-out attribute pairs: scenes containing any of them never appear in training.
HELDOUT_SHAPE_COLOUR = {("circle", "orange"), ("square", "purple"), ("triangle", "white")}
HELDOUT_COLOUR_POSITION = {
    ("red", "bottom right"), ("green", "top left"), ("blue", "center"), ("yellow", "bottom"),
    ("white", "left"), ("black", "top right"), ("purple", "right"), ("orange", "top"),
}


@dataclass(frozen=True)
class ShapeSpec:
    shape: str
    colour: str
    size: Optional[str]  # None = not stated in the caption
    position: Optional[str]  # None = not stated in the caption

    def phrase(self) -> str:
        words = []
        if self.size is not None:
            words.append(self.size)
        words += [self.colour, self.shape]
        text = " ".join(words)
        if self.position is not None:
            text += " at the " + self.position
        return text


@dataclass(frozen=True)
class Scene:
    background: str
    objects: Tuple[ShapeSpec, ...]

    def caption(self) -> str:
        return "a " + " and a ".join(o.phrase() for o in self.objects) + " on a " + self.background + " background"

    def is_fully_specified(self) -> bool:
        return all(o.size is not None and o.position is not None for o in self.objects)


class GrammarError(ValueError):
    pass


def parse(caption: str) -> Scene:
    """Parses a caption of the grammar above; raises GrammarError for anything else."""
    words = caption.split(" ")
    if any(w == "" for w in words):
        raise GrammarError("empty word (double space or leading/trailing space)")
    if len(words) < 6 or words[0] != "a" or words[-1] != "background" or words[-4:-2] != ["on", "a"]:
        raise GrammarError("caption must be 'a <object> [and a <object>] on a <colour> background'")
    background = words[-2]
    if background not in PALETTE:
        raise GrammarError(f"unknown background colour '{background}'")
    body = words[1:-4]
    objects = []
    i = 0
    while True:
        obj, i = _parse_object(body, i)
        objects.append(obj)
        if i == len(body):
            break
        if body[i:i + 2] != ["and", "a"] or len(objects) == 2:
            raise GrammarError(f"unexpected word '{body[i]}'")
        i += 2
    scene = Scene(background, tuple(objects))
    _check_constraints(scene)
    return scene


def _parse_object(w: List[str], i: int) -> Tuple[ShapeSpec, int]:
    size = None
    if i < len(w) and w[i] in SIZES:
        size = w[i]
        i += 1
    if i >= len(w) or w[i] not in PALETTE:
        raise GrammarError("expected a colour")
    colour = w[i]
    i += 1
    if i >= len(w) or w[i] not in SHAPES:
        raise GrammarError("expected a shape")
    shape = w[i]
    i += 1
    position = None
    if w[i:i + 2] == ["at", "the"]:
        i += 2
        if i + 1 < len(w) and f"{w[i]} {w[i + 1]}" in POSITIONS:
            position = f"{w[i]} {w[i + 1]}"
            i += 2
        elif i < len(w) and w[i] in POSITIONS:
            position = w[i]
            i += 1
        else:
            raise GrammarError("expected a position")
    return ShapeSpec(shape, colour, size, position), i


def _check_constraints(scene: Scene) -> None:
    for o in scene.objects:
        if o.colour == scene.background:
            raise GrammarError("a shape has the background colour")
    if len(scene.objects) == 2:
        a, b = scene.objects
        if a.colour == b.colour:
            raise GrammarError("two shapes of the same colour")
        if a.position is not None and a.position == b.position:
            raise GrammarError("two shapes at the same position")


def shape_mask(shape: str, size: str, position: str) -> np.ndarray:
    """Boolean [64,64] coverage of one shape, exact integer inside-tests at pixel centres."""
    col, row = POSITIONS[position]
    cx2, cy2, r2 = 2 * _AXIS[col], 2 * _AXIS[row], 2 * SIZES[size]
    ys, xs = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE]
    px = 2 * xs + 1 - cx2
    py = 2 * ys + 1 - cy2
    if shape == "circle":
        return px * px + py * py <= r2 * r2
    if shape == "square":
        return (np.abs(px) <= r2) & (np.abs(py) <= r2)
    if shape == "triangle":
        return (py <= r2) & (2 * np.abs(px) <= py + r2)
    raise GrammarError(f"unknown shape '{shape}'")


def render(scene: Scene) -> np.ndarray:
    """uint8 [64,64,3] (HWC, RGB). The scene must be fully specified."""
    if not scene.is_fully_specified():
        raise GrammarError("render needs size and position for every shape")
    img = np.empty((IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    img[:, :] = PALETTE[scene.background]
    for o in scene.objects:
        img[shape_mask(o.shape, o.size, o.position)] = PALETTE[o.colour]
    return img


def is_heldout(scene: Scene) -> bool:
    return any((o.shape, o.colour) in HELDOUT_SHAPE_COLOUR or (o.colour, o.position) in HELDOUT_COLOUR_POSITION
               for o in scene.objects)


def sample_scene(rng: random.Random, n_objects: int) -> Scene:
    colours = rng.sample(COLOURS, n_objects + 1)
    positions = rng.sample(POSITION_NAMES, n_objects)
    objects = tuple(ShapeSpec(rng.choice(SHAPES), colours[1 + k], rng.choice(list(SIZES)), positions[k])
                    for k in range(n_objects))
    return Scene(colours[0], objects)


def sample_training_scene(rng: random.Random) -> Scene:
    """A scene outside the held-out pairs; half one-shape, half two-shape."""
    while True:
        scene = sample_scene(rng, 1 if rng.random() < 0.5 else 2)
        if not is_heldout(scene):
            return scene


def training_scenes(seed: int, count: int) -> List[Scene]:
    rng = random.Random(seed)
    return [sample_training_scene(rng) for _ in range(count)]


# Prompt forms: which of size and position every object of a prompt states.
FORMS = ("full", "size", "position", "bare")


def with_form(scene: Scene, form: str) -> Scene:
    """The scene's caption in one prompt form: "size" keeps sizes and drops positions, "position" the reverse,
    "bare" drops both ("a red circle on a blue background")."""
    keep_size, keep_pos = form in ("full", "size"), form in ("full", "position")
    return Scene(scene.background, tuple(ShapeSpec(o.shape, o.colour, o.size if keep_size else None,
                                                   o.position if keep_pos else None) for o in scene.objects))


def form_of(scene: Scene) -> str:
    """The prompt form every object shares, or "mixed"."""
    forms = {("full" if o.size and o.position else "size" if o.size else "position" if o.position else "bare")
             for o in scene.objects}
    return forms.pop() if len(forms) == 1 else "mixed"


# The trained model's convention for what a caption leaves out (any completion is a valid image of an
# under-specified caption; a one-step x0 regressor draws a blurred average of all of them unless each
# under-specified caption is trained on one): large, one shape at the center, two at the left and the right
# (the center where the other shape is stated there).
DEFAULT_SIZE = "large"
DEFAULT_POSITIONS = {1: ("center",), 2: ("left", "right")}


def complete_with_defaults(scene: Scene) -> Scene:
    """Fills every unstated size and position with the model's defaults (never colliding with a stated position)."""
    n = len(scene.objects)
    stated = {o.position for o in scene.objects if o.position is not None}
    objects = []
    for k, o in enumerate(scene.objects):
        position = o.position
        if position is None:
            position = DEFAULT_POSITIONS[n][k]
            if position in stated:
                position = "center"
        objects.append(ShapeSpec(o.shape, o.colour, o.size or DEFAULT_SIZE, position))
    return Scene(scene.background, tuple(objects))


def underspecified_training_pairs(seed: int, count: int) -> List[Tuple[str, Scene]]:
    """(caption, image scene) pairs for training on the whole grammar: each object drops its size and its position
    independently with probability 1/2 (at least one attribute dropped per scene), and the image is the caption
    completed with the defaults. A pair whose image contains a held-out pair is skipped, as in training_scenes."""
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        scene = sample_scene(rng, 1 if rng.random() < 0.5 else 2)
        stated = Scene(scene.background, tuple(ShapeSpec(o.shape, o.colour, o.size if rng.random() < 0.5 else None,
                                                         o.position if rng.random() < 0.5 else None)
                                               for o in scene.objects))
        if stated.is_fully_specified():
            continue
        try:
            _check_constraints(stated)
        except GrammarError:
            continue
        image = complete_with_defaults(stated)
        if not is_heldout(image):
            out.append((stated.caption(), image))
    return out


def form_prompts(form: str, heldout: bool, seed: int, per_count: int = 60, max_tries: int = 200000) -> List[str]:
    """Deterministic, de-duplicated prompts of one form: up to `per_count` one-shape then `per_count` two-shape
    prompts (fewer where the form has fewer distinct prompts: 21 held-out bare one-shape prompts exist). Held out:
    the prompt states a held-out pair (an unstated position states no (colour, position) pair)."""
    rng = random.Random(seed)
    out: List[str] = []
    for n in (1, 2):
        seen: set = set()
        for _ in range(max_tries):
            if len(seen) == per_count:
                break
            scene = with_form(sample_scene(rng, n), form)
            caption = scene.caption()
            if is_heldout(scene) == heldout and caption not in seen:
                seen.add(caption)
                out.append(caption)
    return out


def heldout_prompts(seed: int = 4, count: int = 240) -> List[str]:
    """Fully specified prompts that each contain at least one held-out attribute pair.
    Half one-shape, half two-shape; no duplicates; deterministic."""
    rng = random.Random(seed)
    out, seen = [], set()
    while len(out) < count:
        scene = sample_scene(rng, 1 if len(out) < count // 2 else 2)
        if is_heldout(scene) and scene.caption() not in seen:
            seen.add(scene.caption())
            out.append(scene.caption())
    return out


def indist_prompts(seed: int = 5, count: int = 240) -> List[str]:
    """Fully specified prompts drawn like the training data (may coincide with training captions)."""
    rng = random.Random(seed)
    out, seen = [], set()
    while len(out) < count:
        scene = sample_scene(rng, 1 if len(out) < count // 2 else 2)
        if not is_heldout(scene) and scene.caption() not in seen:
            seen.add(scene.caption())
            out.append(scene.caption())
    return out


EVAL_FORMS_SEEDS = {"heldout": 8, "indist": 9}
VALIDATION_FORMS_SEEDS = {"heldout": 10, "indist": 11}


def forms_prompts(heldout: bool, seed: int) -> List[str]:
    """Every prompt form in turn (FORMS order), each up to 60 one-shape then 60 two-shape prompts."""
    return [p for k, form in enumerate(FORMS) for p in form_prompts(form, heldout, seed * 10 + k)]


def evaluation_forms_prompts(kind: str) -> List[str]:
    """The evaluation sets of every prompt form: kind "heldout" (each prompt states a held-out pair) or "indist"."""
    return forms_prompts(kind == "heldout", EVAL_FORMS_SEEDS[kind])


def validation_forms_prompts(kind: str) -> List[str]:
    """Validation sets of every prompt form (other seeds), less any prompt of an evaluation set: for choosing
    checkpoints and recipes, so the evaluation sets only report."""
    evaluation = set(heldout_prompts()) | set(indist_prompts()) | set(evaluation_forms_prompts("heldout")) \
        | set(evaluation_forms_prompts("indist"))
    return [p for p in forms_prompts(kind == "heldout", VALIDATION_FORMS_SEEDS[kind]) if p not in evaluation]


def _write_lines(path: str, lines: Sequence[str]) -> None:
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Write the Tiny Shapes evaluation prompt sets.")
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    args = ap.parse_args()
    _write_lines(os.path.join(args.out, "heldout_prompts.txt"), heldout_prompts())
    _write_lines(os.path.join(args.out, "indist_prompts.txt"), indist_prompts())
    for kind in ("heldout", "indist"):
        _write_lines(os.path.join(args.out, f"{kind}_forms_prompts.txt"), evaluation_forms_prompts(kind))
    for p in heldout_prompts() + indist_prompts() + evaluation_forms_prompts("heldout") + evaluation_forms_prompts("indist"):
        assert parse(p).caption() == p
    print("wrote prompt sets to", args.out)
