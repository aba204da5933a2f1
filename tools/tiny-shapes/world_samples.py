"""Writes tests/golden/tiny-shapes-world-samples.safetensors: renders of world.py for the C# renderer test.

Tensors "0".."N-1": U8 [64,64,3] (HWC RGB); __metadata__: {"format": "pt", "captions": JSON list of the
captions in index order}. Includes every shape at every size and position once, plus random two-shape scenes.
"""
import json
import os
import random

import st_io
import world

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden", "tiny-shapes-world-samples.safetensors")


def main():
    rng = random.Random(77)
    scenes = []
    for k, shape in enumerate(world.SHAPES):
        for j, pos in enumerate(world.POSITION_NAMES):
            size = "small" if (j + k) % 2 == 0 else "large"
            colour = world.COLOURS[(j + k) % 8]
            bg = world.COLOURS[(j + k + 3) % 8]
            scenes.append(world.Scene(bg, (world.ShapeSpec(shape, colour, size, pos),)))
    scenes += [world.sample_scene(rng, 2) for _ in range(21)]
    captions = [s.caption() for s in scenes]
    tensors = {str(i): world.render(world.parse(c)) for i, c in enumerate(captions)}
    st_io.save(OUT, tensors, {"format": "pt", "captions": json.dumps(captions)})
    print(len(captions), "samples ->", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
