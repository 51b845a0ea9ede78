"""What the mirror kiosk draws: large touch controls, the attract screen, banners, a QR code.

Everything draws into (H, W, 3) uint8 BGR pictures with OpenCV; texts come in English and Italian.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "prev": "< Frame",
        "next": "Frame >",
        "colour": "Colour",
        "lens": "Lens",
        "size": "Size",
        "lookback": "Look back",
        "handoff": "Take it home",
        "attract_1": "Step closer",
        "attract_2": "and try our glasses on",
        "no_camera": "Camera disconnected - reconnecting...",
        "offline": "offline: the mirror keeps working",
        "frozen": "Paused picture",
        "replay": "Look back",
        "paused": "paused",
        "scan": "Scan to keep what you tried (10 min)",
        "pin": "Staff PIN to exit",
        "no_face": "Look at the mirror",
    },
    "it": {
        "prev": "< Montatura",
        "next": "Montatura >",
        "colour": "Colore",
        "lens": "Lenti",
        "size": "Misura",
        "lookback": "Rivediti",
        "handoff": "Portalo a casa",
        "attract_1": "Avvicinati",
        "attract_2": "e prova i nostri occhiali",
        "no_camera": "Telecamera scollegata - riconnessione...",
        "offline": "offline: lo specchio continua a funzionare",
        "frozen": "Immagine in pausa",
        "replay": "Rivediti",
        "paused": "in pausa",
        "scan": "Inquadra per salvare cio' che hai provato (10 min)",
        "pin": "PIN del personale per uscire",
        "no_face": "Guarda lo specchio",
    },
}

BUTTONS = ("prev", "next", "colour", "lens", "size", "lookback", "handoff")
FONT = cv2.FONT_HERSHEY_DUPLEX


def text(lang: str, key: str) -> str:
    return TEXTS.get(lang, TEXTS["en"]).get(key, TEXTS["en"][key])


@dataclass(frozen=True)
class Button:
    name: str
    x: int
    y: int
    w: int
    h: int

    def contains(self, px: int, py: int) -> bool:
        return self.x <= px < self.x + self.w and self.y <= py < self.y + self.h


def layout(width: int, height: int) -> list[Button]:
    """The control bar along the bottom: each button about 1/7 of the width and 12% of the height
    (at least 48 px: a fingertip on a touch screen)."""
    h = max(48, round(height * 0.12))
    gap = max(4, width // 200)
    w = (width - gap * (len(BUTTONS) + 1)) // len(BUTTONS)
    y = height - h - gap
    return [Button(name, gap + i * (w + gap), y, w, h) for i, name in enumerate(BUTTONS)]


def _fit_scale(label: str, max_w: int, max_h: int, thickness: int) -> float:
    (tw, th), _ = cv2.getTextSize(label, FONT, 1.0, thickness)
    return max(0.3, min(max_w / max(tw, 1), max_h / max(th, 1)))


def put_centred(
    image: np.ndarray, label: str, cx: int, cy: int, scale: float, colour: tuple[int, int, int]
) -> None:
    thickness = max(1, round(scale * 2))
    (tw, th), _ = cv2.getTextSize(label, FONT, scale, thickness)
    org = (cx - tw // 2, cy + th // 2)
    cv2.putText(image, label, org, FONT, scale, (0, 0, 0), thickness + 3, cv2.LINE_AA)
    cv2.putText(image, label, org, FONT, scale, colour, thickness, cv2.LINE_AA)


def draw_controls(image: np.ndarray, lang: str) -> list[Button]:
    """Draw the control bar onto ``image`` in place; returns the buttons (for touches)."""
    buttons = layout(image.shape[1], image.shape[0])
    for b in buttons:
        roi = image[b.y : b.y + b.h, b.x : b.x + b.w]
        roi[:] = (roi.astype(np.uint16) * 2 // 5 + np.array([60, 40, 20], np.uint16) * 3 // 5).astype(
            np.uint8
        )
        cv2.rectangle(image, (b.x, b.y), (b.x + b.w - 1, b.y + b.h - 1), (255, 255, 255), 2, cv2.LINE_AA)
        label = text(lang, b.name)
        scale = _fit_scale(label, int(b.w * 0.85), int(b.h * 0.4), 2)
        put_centred(image, label, b.x + b.w // 2, b.y + b.h // 2, scale, (255, 255, 255))
    return buttons


def banner(image: np.ndarray, label: str, *, top: bool = True) -> None:
    """A line of text on a dark band at the top (or middle) of ``image``, in place."""
    h, w = image.shape[:2]
    band = max(32, h // 12)
    y0 = 0 if top else (h - band) // 2
    image[y0 : y0 + band] = image[y0 : y0 + band] // 3
    put_centred(
        image,
        label,
        w // 2,
        y0 + band // 2,
        _fit_scale(label, int(w * 0.9), int(band * 0.55), 2),
        (255, 255, 255),
    )


def attract_screen(width: int, height: int, t: float, lang: str) -> np.ndarray:
    """The picture shown while nobody is at the mirror: a slowly moving gradient and an invitation."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = 0.6 * t
    wave = 0.5 + 0.5 * np.sin(xs / max(width, 1) * 2 * math.pi + phase) * np.cos(
        ys / max(height, 1) * math.pi
    )
    image = np.empty((height, width, 3), np.uint8)
    image[..., 0] = (90 + 80 * wave).astype(np.uint8)
    image[..., 1] = (40 + 40 * wave).astype(np.uint8)
    image[..., 2] = (30 + 20 * (1 - wave)).astype(np.uint8)
    line1, line2 = text(lang, "attract_1"), text(lang, "attract_2")
    put_centred(
        image,
        line1,
        width // 2,
        int(height * 0.42),
        _fit_scale(line1, int(width * 0.7), height // 8, 2),
        (255, 255, 255),
    )
    put_centred(
        image,
        line2,
        width // 2,
        int(height * 0.58),
        _fit_scale(line2, int(width * 0.8), height // 14, 2),
        (230, 230, 230),
    )
    return image


def draw_qr(image: np.ndarray, modules: np.ndarray, caption: str) -> None:
    """Draw a QR code (``modules``: (N, N) bool, True = dark, quiet zone included) in the top right
    corner of ``image``, in place, at least 3 px a module, with ``caption`` under it."""
    h, w = image.shape[:2]
    n = modules.shape[0]
    side = max(3 * n, min(h, w) // 3)
    cell = max(3, side // n)
    side = cell * n
    qr = np.where(np.kron(modules, np.ones((cell, cell), bool)), 0, 255).astype(np.uint8)
    x0, y0 = w - side - 10, 10
    if x0 < 0 or y0 + side > h:
        return
    image[y0 : y0 + side, x0 : x0 + side] = qr[..., None]
    scale = _fit_scale(caption, w - 20, max(12, h // 30), 1)
    put_centred(image, caption, w // 2, min(h - 10, y0 + side + h // 30), scale, (255, 255, 255))
