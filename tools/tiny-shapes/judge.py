"""Python port of the C# TinyShapesJudge (src/MixDQ.Evaluation/TinyShapes/TinyShapesJudge.cs), same
algorithm and constants, for PyTorch-side accuracy numbers. The C# judge is the reference."""
from __future__ import annotations

from typing import Dict, List

import numpy as np

import world

N = world.IMAGE_SIZE
MAX_COLOUR_DISTANCE = 60
MIN_CORE_PIXELS = 8
LARGE_EXTENT = 16
# Non-shapes (see the C# judge): an elongated box, a poor best-template match, or a large blob both round and square.
MAX_ASPECT = 1.3
MIN_TEMPLATE_IOU = {"circle": 0.85, "square": 0.80, "triangle": 0.65}
AMBIGUOUS_IOU = 0.86
MIN_MIRROR_IOU = 0.80
_PAL = np.array([world.PALETTE[c] for c in world.COLOURS], dtype=np.int64)


def label_pixels(img: np.ndarray) -> np.ndarray:
    d = ((img.reshape(-1, 1, 3).astype(np.int64) - _PAL[None]) ** 2).sum(-1)
    best = d.argmin(1)
    best[d.min(1) > MAX_COLOUR_DISTANCE ** 2] = -1
    return best.reshape(N, N)


def _components(labels: np.ndarray, background: int):
    seen = np.zeros_like(labels, dtype=bool)
    blobs = []
    for sy in range(N):
        for sx in range(N):
            lab = labels[sy, sx]
            if seen[sy, sx] or lab < 0 or lab == background:
                continue
            stack, members = [(sy, sx)], []
            seen[sy, sx] = True
            while stack:
                y, x = stack.pop()
                members.append((y, x))
                for yy, xx in ((y, x - 1), (y, x + 1), (y - 1, x), (y + 1, x)):
                    if 0 <= yy < N and 0 <= xx < N and not seen[yy, xx] and labels[yy, xx] == lab:
                        seen[yy, xx] = True
                        stack.append((yy, xx))
            b = _describe(labels, members, lab)
            if b is not None:
                blobs.append(b)
    blobs.sort(key=lambda b: -b["area"])
    return blobs


def _describe(labels, members, lab):
    ys = np.array([m[0] for m in members])
    xs = np.array([m[1] for m in members])
    core = 0
    for y, x in members:
        if 0 < x < N - 1 and 0 < y < N - 1 and labels[y, x - 1] == lab and labels[y, x + 1] == lab \
                and labels[y - 1, x] == lab and labels[y + 1, x] == lab:
            core += 1
    if core < MIN_CORE_PIXELS:
        return None
    minx, maxx, miny, maxy = xs.min(), xs.max(), ys.min(), ys.max()
    mask = np.zeros((N, N), dtype=bool)
    mask[ys, xs] = True
    gy, gx = np.mgrid[miny:maxy + 1, minx:maxx + 1]
    cx2, cy2 = minx + maxx + 1, miny + maxy + 1
    rx, ry = maxx - minx + 1, maxy - miny + 1
    px, py = 2 * gx + 1 - cx2, 2 * gy + 1 - cy2
    sub = mask[miny:maxy + 1, minx:maxx + 1]
    ious = {}
    for shape in world.SHAPES:
        if shape == "square":
            t = np.ones_like(sub)
        elif shape == "circle":
            t = px * px * ry * ry + py * py * rx * rx <= rx * rx * ry * ry
        else:
            t = 2 * np.abs(px) * ry <= (py + ry) * rx
        inter = int((t & sub).sum())
        ious[shape] = inter / (len(members) + int(t.sum()) - inter)
    best = max(world.SHAPES, key=lambda k: ious[k])  # first of equals, as the C# loop keeps
    is_shape = (max(rx, ry) <= MAX_ASPECT * min(rx, ry) and ious[best] >= MIN_TEMPLATE_IOU[best]
                and not (max(rx, ry) >= LARGE_EXTENT and ious["circle"] >= AMBIGUOUS_IOU and ious["square"] >= AMBIGUOUS_IOU)
                and (best == "triangle" or min(_mirror_iou(sub[:, ::-1], sub), _mirror_iou(sub[::-1, :], sub)) >= MIN_MIRROR_IOU))
    col = min(max(int((minx + maxx + 1) / 2.0 / (N / 3.0)), 0), 2)
    row = min(max(int((miny + maxy + 1) / 2.0 / (N / 3.0)), 0), 2)
    position = [p for p, (c, r) in world.POSITIONS.items() if c == col and r == row][0]
    size = "large" if max(rx, ry) >= LARGE_EXTENT else "small"
    return {"colour": world.COLOURS[lab], "area": len(members), "shape": best if is_shape else None, "size": size, "position": position}


def _mirror_iou(mirrored: np.ndarray, sub: np.ndarray) -> float:
    return int((mirrored & sub).sum()) / int((mirrored | sub).sum())


def score(img: np.ndarray, prompt: str) -> Dict:
    scene = world.parse(prompt)
    labels = label_pixels(img)
    counts = np.bincount(labels[labels >= 0].ravel(), minlength=len(world.COLOURS))
    bg = int(counts.argmax()) if counts.max() > 0 else None
    blobs = _components(labels, bg) if bg is not None else []
    used = [False] * len(blobs)
    assigned: List = [None] * len(scene.objects)
    for k, o in enumerate(scene.objects):
        for i, b in enumerate(blobs):
            if b["colour"] == o.colour:
                if not used[i]:
                    used[i] = True
                    assigned[k] = b
                break
    for k in range(len(scene.objects)):
        if assigned[k] is None and False in used:
            i = used.index(False)
            used[i] = True
            assigned[k] = blobs[i]
    objs = []
    for o, b in zip(scene.objects, assigned):
        if b is None:
            objs.append({"found": False, "shape": False, "colour": False, "size": None if o.size is None else False,
                         "position": None if o.position is None else False})
        else:  # an attribute the prompt does not state is not checked (None)
            objs.append({"found": True, "shape": b["shape"] == o.shape, "colour": b["colour"] == o.colour,
                         "size": None if o.size is None else b["size"] == o.size,
                         "position": None if o.position is None else b["position"] == o.position})
    bg_ok = bg is not None and world.COLOURS[bg] == scene.background
    count_ok = len(blobs) == len(scene.objects)
    correct = bg_ok and count_ok and all(all(v is not False for v in d.values()) for d in objs)
    return {"background": bg_ok, "count": count_ok, "objects": objs, "correct": correct}


def aggregate(results: List[Dict]) -> Dict[str, float]:
    objs = [o for r in results for o in r["objects"]]
    f = lambda xs: float(np.mean(xs)) if xs else float("nan")
    return {"prompts": len(results), "overall": f([r["correct"] for r in results]),
            "background": f([r["background"] for r in results]), "count": f([r["count"] for r in results]),
            "shape": f([o["shape"] for o in objs]), "colour": f([o["colour"] for o in objs]),
            "size": f([o["size"] for o in objs if o["size"] is not None]),
            "position": f([o["position"] for o in objs if o["position"] is not None])}


if __name__ == "__main__":
    import random
    rng = random.Random(9)
    res = []
    for i in range(200):
        s = world.sample_scene(rng, 1 + i % 2)
        res.append(score(world.render(s), s.caption()))
    print(aggregate(res))
