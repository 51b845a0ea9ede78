"""Fakes for the mirror kiosk's logic (tryon.kiosk): a camera, a dresser, a command feed, a clock.

The fake camera paints each frame a grey level that encodes its index (so a replayed picture tells
which moment it shows) and, when a face is "there", a skin-coloured block the fake dresser finds;
the dresser paints a look's colour (from its frame id and colour) on every face it dresses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from tryon.kiosk import Look
from tryon.sources import Frame

SKIN = (120, 160, 210)


class FakeClock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class FakeCamera:
    """``faces`` face blocks in each frame; ``plugged`` False: read() gives None (unplugged)."""

    clock: FakeClock
    size: tuple[int, int] = (160, 120)
    faces: int = 1
    plugged: bool = True
    index: int = 0

    def read(self) -> Frame | None:
        if not self.plugged:
            return None
        w, h = self.size
        image = np.full((h, w, 3), self.index % 200 + 20, np.uint8)
        for i in range(self.faces):
            x0 = w // 8 + i * (w // 2)
            image[h // 4 : h // 2, x0 : x0 + w // 4] = SKIN
        self.index += 1
        return Frame(image, self.clock.t * 1000.0, self.index - 1)


def look_colour(look: Look) -> tuple[int, int, int]:
    digest = hashlib.sha256(f"{look.frame_id}/{look.colour}/{look.lens}/{look.size}".encode()).digest()
    return (digest[0] | 1, digest[1] | 1, 255 - (digest[2] | 1))


@dataclass
class FakeDresser:
    """Finds the skin blocks (columns where a mid-height row is skin) and paints looks over them."""

    dressed: list[Look] = field(default_factory=list)

    def track(self, image: np.ndarray, timestamp_ms: float) -> list[tuple[int, int]]:
        h = image.shape[0]
        row = image[h // 3]
        skin = np.all(row == SKIN, axis=1)
        faces, start = [], None
        for x, on in enumerate([*skin, False]):
            if on and start is None:
                start = x
            elif not on and start is not None:
                faces.append((start, x))
                start = None
        return faces  # type: ignore[return-value]

    def dress(self, image: np.ndarray, faces: list, look: Look) -> None:
        h = image.shape[0]
        self.dressed.append(look)
        for x0, x1 in faces:
            image[h // 4 + 2 : h // 3 + 2, x0:x1] = look_colour(look)


@dataclass
class FakeFeed:
    """Commands to hand out; what the kiosk acknowledged."""

    pending: list[tuple[int, dict]] = field(default_factory=list)
    acked: list[int] = field(default_factory=list)

    def send(self, seq: int, command: dict) -> None:
        self.pending.append((seq, command))

    def poll(self) -> list[tuple[int, dict]]:
        out, self.pending = self.pending, []
        return out

    def applied(self, seq: int) -> None:
        self.acked.append(seq)
