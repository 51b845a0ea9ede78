"""The mirror kiosk's logic: a store's mirror that a staff remote drives, testable without a screen.

:class:`Kiosk` is the whole behaviour of ``tryon kiosk`` apart from the window and the network: each
:meth:`Kiosk.step` reads a camera frame, applies the remote commands that have arrived, dresses the
face (or two configurations side by side: the split mirror), records the look-back, decides between
the live view, a frozen picture, a replay, a comparison and the attract screen, and returns the
picture to show. Everything it depends on is injected, so tests drive it with a fake camera, a fake
command feed and a simulated clock:

* ``read_frame() -> Frame | None`` (None: no frame now, e.g. the camera is unplugged);
* a :class:`Dresser` that tracks faces and draws a :class:`Look` on them (the real one wraps a
  :class:`~tryon.pipeline.TryOnPipeline`: :class:`PipelineDresser`);
* a :class:`CommandFeed`: the remote's commands with their sequence numbers, and the
  acknowledgement of each one applied (the web client in ``web.store.kiosk_client``);
* ``clock() -> float`` seconds, monotonic.

Commands are applied once each, in sequence order: a command whose sequence number is not above the
last applied one (delivered again after a reconnect) is acknowledged and skipped.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

import cv2
import numpy as np

from tryon import kiosk_screen as screen
from tryon.lookback import LookBack, Replay, side_by_side
from tryon.sources import Frame

if TYPE_CHECKING:
    from tryon.glasses import GlassesModel
    from tryon.pipeline import TryOnPipeline
    from tryon.pose import HeadPose
    from tryon.tracking import FaceObservation

log = logging.getLogger(__name__)

#: The remote's commands and the fields each one takes (see :func:`check_command`).
COMMANDS: dict[str, tuple[str, ...]] = {
    "frame": ("frame_id",),
    "colour": ("colour",),
    "lens": ("lens",),
    "size": ("size",),
    "snapshot": (),
    "freeze": ("on",),
    "split": ("on", "mode", "left", "right"),
    "lookback": ("action", "position_s", "a", "b"),
    "resume": ("looks", "account_id"),
    "handoff": (),
}
SPLIT_MODES = ("halves", "panes")
LOOKBACK_ACTIONS = ("replay", "pause", "play", "scrub", "live", "compare")
MAX_SNAPSHOTS = 8
MAX_RESUME_LOOKS = 20
PIN_ITERATIONS = 200_000


#: A remote command, an event or a status: JSON values by name.
Command = dict[str, object]


class CommandError(ValueError):
    """A remote command that is not well formed; the message says what is wrong."""


@dataclass(frozen=True)
class Look:
    """One configuration of a frame (None: the frame's default)."""

    frame_id: str
    size: str | None = None
    colour: str | None = None
    lens: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"frame_id": self.frame_id, "size": self.size, "colour": self.colour, "lens": self.lens}

    @classmethod
    def from_json(cls, data: object) -> Look:
        if not isinstance(data, dict) or not isinstance(data.get("frame_id"), str):
            raise CommandError("a look is an object with a frame_id")
        unknown = set(data) - {"frame_id", "size", "colour", "lens"}
        if unknown:
            raise CommandError(f"a look has no field {sorted(unknown)[0]!r}")
        values = {k: data.get(k) for k in ("size", "colour", "lens")}
        for name, value in values.items():
            if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 64):
                raise CommandError(f"{name} must be a short text")
        if not 0 < len(data["frame_id"]) <= 64:
            raise CommandError("frame_id must be a short text")
        return cls(data["frame_id"], **values)


def check_command(command: object) -> Command:
    """The command if it is well formed (its shape only: ids are checked against the catalogue by
    whoever knows it), else :class:`CommandError`."""
    if not isinstance(command, dict):
        raise CommandError("a command is a JSON object")
    kind = command.get("type")
    if kind not in COMMANDS:
        raise CommandError(f"unknown command type {kind!r}; one of {', '.join(COMMANDS)}")
    allowed = set(COMMANDS[kind]) | {"type"}
    unknown = set(command) - allowed
    if unknown:
        raise CommandError(f"command {kind!r} has no field {sorted(unknown)[0]!r}")
    for name in COMMANDS[kind]:
        value = command.get(name)
        if name in ("frame_id", "colour", "lens", "size"):
            if not isinstance(value, str) or not 0 < len(value) <= 64:
                raise CommandError(f"{kind}: {name} must be a short text")
        elif name == "on":
            if not isinstance(value, bool):
                raise CommandError(f"{kind}: 'on' must be true or false")
        elif name == "mode" and command.get("on"):
            if value not in SPLIT_MODES:
                raise CommandError(f"split: mode must be one of {', '.join(SPLIT_MODES)}")
        elif name in ("left", "right") and command.get("on"):
            Look.from_json(value)
        elif name == "action":
            if value not in LOOKBACK_ACTIONS:
                raise CommandError(f"lookback: action must be one of {', '.join(LOOKBACK_ACTIONS)}")
        elif name == "position_s" and value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 60:
                raise CommandError("lookback: position_s must be a number of seconds from 0 to 60")
        elif name in ("a", "b") and value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_SNAPSHOTS:
                raise CommandError(
                    f"lookback: {name} must be a snapshot number from 0 to {MAX_SNAPSHOTS - 1}"
                )
        elif name == "looks":
            if not isinstance(value, list) or len(value) > MAX_RESUME_LOOKS:
                raise CommandError(f"resume: looks must be a list of at most {MAX_RESUME_LOOKS}")
            for look in value:
                Look.from_json(look)
        elif (
            name == "account_id"
            and value is not None
            and (isinstance(value, bool) or not isinstance(value, int))
        ):
            raise CommandError("resume: account_id must be a number")
    return command


# -- the staff exit PIN ------------------------------------------------------------------------------------


def hash_pin(pin: str, *, iterations: int = PIN_ITERATIONS) -> str:
    """``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>`` of a PIN (checked offline by the kiosk)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, encoded: str) -> bool:
    try:
        scheme, iterations, salt, expected = encoded.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), expected)


# -- injected parts ------------------------------------------------------------------------------------------


class Dresser(Protocol):
    def track(self, image: np.ndarray, timestamp_ms: float) -> list[FaceObservation]:
        """Faces in ``image`` ((H, W, 3) uint8 BGR); an empty list when none."""

    def dress(self, image: np.ndarray, faces: list[FaceObservation], look: Look) -> None:
        """Draw ``look`` on ``faces`` into ``image`` in place."""


class CommandFeed(Protocol):
    def poll(self) -> list[tuple[int, Command]]:
        """Commands received since the last call (never blocks)."""

    def applied(self, seq: int) -> None:
        """Every command up to ``seq`` has been applied."""


class PipelineDresser:
    """A :class:`Dresser` on a :class:`~tryon.pipeline.TryOnPipeline`; ``configure(look)`` builds the
    :class:`~tryon.glasses.GlassesModel` (models are cached per look, so a split mirror switches
    between two prepared models)."""

    def __init__(self, pipeline: TryOnPipeline, configure: Callable[[Look], GlassesModel]) -> None:
        self.pipeline = pipeline
        self.configure = configure
        self._models: dict[Look, GlassesModel] = {}
        self._worn: Look | None = None
        self._poses: list[HeadPose] = []

    def track(self, image: np.ndarray, timestamp_ms: float) -> list[FaceObservation]:
        faces, ts = self.pipeline.track(image, timestamp_ms)
        self._poses = self.pipeline.poses(faces, ts)
        return faces

    def dress(self, image: np.ndarray, faces: list[FaceObservation], look: Look) -> None:
        if look != self._worn:
            model = self._models.get(look)
            if model is None:
                if len(self._models) > 16:
                    self._models.clear()
                model = self._models[look] = self.configure(look)
            self.pipeline.set_glasses(model)
            self._worn = look
        self.pipeline.dress(image, faces, self._poses)


# -- the kiosk --------------------------------------------------------------------------------------------


@dataclass
class KioskSettings:
    store_id: str
    frame_ids: list[str]  # the store's stock, in catalogue order
    pin_hash: str
    attract_after_s: float = 30.0
    lookback_s: float = 20.0
    lang: str = "en"
    #: options per frame id: {"colours": [...], "lenses": [...], "sizes": [...]}, for the kiosk's own buttons
    options: dict[str, dict[str, list[str]]] = field(default_factory=dict)


@dataclass
class _Split:
    mode: str
    left: Look
    right: Look


class Kiosk:
    """One mirror kiosk (see the module's docstring). Call :meth:`step` in a loop."""

    def __init__(
        self,
        settings: KioskSettings,
        dresser: Dresser,
        read_frame: Callable[[], Frame | None],
        commands: CommandFeed,
        clock: Callable[[], float],
        *,
        events: Callable[[Command], None] | None = None,
        handoff: Callable[[list[Look]], str | None] | None = None,
        qr_modules: Callable[[str], np.ndarray] | None = None,
        size: tuple[int, int] | None = None,
    ) -> None:
        if not settings.frame_ids:
            raise ValueError(f"store {settings.store_id!r} has no frame in stock to show")
        self.settings = settings
        self.dresser = dresser
        self.read_frame = read_frame
        self.commands = commands
        self.clock = clock
        self.events = events or (lambda _event: None)
        self.handoff = handoff
        self.qr_modules = qr_modules
        #: (width, height) of the picture shown; None: the camera's own size, from its first frame
        self.size: tuple[int, int] = size or (640, 480)
        self._size_from_camera = size is None
        self.look = Look(settings.frame_ids[0])
        self.applied_seq = 0
        self.frozen: np.ndarray | None = None
        self.split: _Split | None = None
        self.lookback = LookBack(settings.lookback_s)
        self.replay = Replay(self.lookback)
        self.snapshots: list[np.ndarray] = []
        self.compare: tuple[int, int] | None = None
        self.account_id: int | None = None  # the customer whose favourites were resumed
        self.qr: tuple[str, float] | None = None  # (url, shown until)
        self.buttons: list[screen.Button] = []
        self.camera_ok = True
        self.faces_seen = 0
        self.frames = 0
        self.mode = "attract"
        started = clock()
        self._last_face_t = started - settings.attract_after_s - 1.0
        self._look_since: float | None = None
        self._session_looks: list[Look] = []
        self._last_image: np.ndarray | None = None

    # -- commands ----------------------------------------------------------------------------------------

    def _apply_pending(self) -> None:
        for seq, command in sorted(self.commands.poll(), key=lambda item: item[0]):
            if seq <= self.applied_seq:
                self.commands.applied(seq)  # delivered again after a reconnect: already done
                continue
            try:
                self.apply(check_command(command))
            except (CommandError, KeyError, ValueError) as exc:
                log.warning("command %d refused by the kiosk: %s", seq, exc)
            self.applied_seq = seq
            self.commands.applied(seq)

    def apply(self, command: Command) -> None:
        """Apply one well-formed command now."""
        kind = command["type"]
        now = self.clock()
        if kind == "frame":
            if command["frame_id"] not in self.settings.frame_ids:
                raise CommandError(f"frame {command['frame_id']!r} is not in this store's stock")
            self._wear(Look(command["frame_id"]))
        elif kind in ("colour", "lens", "size"):
            self._wear(replace(self.look, **{kind: str(command[kind])}))
        elif kind == "snapshot":
            self._snapshot()
        elif kind == "freeze":
            self.frozen = self._last_image.copy() if command["on"] and self._last_image is not None else None
        elif kind == "split":
            if command["on"]:
                left, right = Look.from_json(command["left"]), Look.from_json(command["right"])
                for look in (left, right):
                    if look.frame_id not in self.settings.frame_ids:
                        raise CommandError(f"frame {look.frame_id!r} is not in this store's stock")
                self.split = _Split(str(command["mode"]), left, right)
                self._note_tried(left)
                self._note_tried(right)
            else:
                self.split = None
        elif kind == "lookback":
            self._lookback(command, now)
        elif kind == "resume":
            items = command["looks"]
            looks = [Look.from_json(item) for item in items] if isinstance(items, list) else []
            looks = [look for look in looks if look.frame_id in self.settings.frame_ids]
            account = command.get("account_id")
            self.account_id = account if isinstance(account, int) else None
            for look in looks:
                self._note_tried(look)
            if looks:
                self._wear(looks[0])
        elif kind == "handoff":
            self.show_handoff()

    def _lookback(self, command: Command, now: float) -> None:
        action = command["action"]
        self.compare = None
        if action == "replay":
            self.replay.start(now)
        elif action == "pause":
            self.replay.pause(now)
        elif action == "play":
            self.replay.play(now)
        elif action == "scrub":
            position = command.get("position_s")
            self.replay.scrub(float(position) if isinstance(position, int | float) else 0.0, now)
        elif action == "live":
            self.replay.stop()
        elif action == "compare":
            first, second = command.get("a"), command.get("b")
            a, b = len(self.snapshots) - 2, len(self.snapshots) - 1
            if isinstance(first, int) and isinstance(second, int):
                a, b = first, second
            if not (0 <= a < len(self.snapshots) and 0 <= b < len(self.snapshots)):
                raise CommandError("compare needs two snapshots")
            self.replay.stop()
            self.compare = (a, b)

    def _snapshot(self) -> None:
        if self._last_image is None:
            return
        self.snapshots.append(self._last_image.copy())
        del self.snapshots[:-MAX_SNAPSHOTS]

    # -- what was tried ----------------------------------------------------------------------------------

    def _wear(self, look: Look) -> None:
        if look == self.look:
            return
        self._close_look()
        self.look = look
        self._note_tried(look)

    def _note_tried(self, look: Look) -> None:
        if look not in self._session_looks:
            self._session_looks.append(look)

    def _close_look(self, until: float | None = None) -> None:
        """Report the time the current look was worn by a face (a ``tried`` event) up to ``until``
        (default: now)."""
        if self._look_since is None:
            return
        duration = (self.clock() if until is None else until) - self._look_since
        self._look_since = None
        self.events(
            {
                "kind": "tried",
                "event_key": uuid.uuid4().hex,
                "frame_id": self.look.frame_id,
                "duration_ms": int(duration * 1000),
                "account_id": self.account_id,
            }
        )

    @property
    def session_looks(self) -> list[Look]:
        """The looks tried since the customer stepped in (for the hand-off)."""
        return list(self._session_looks)

    def _end_session(self) -> None:
        """Nobody at the mirror any more: forget everything about the last customer."""
        self._close_look()
        self._session_looks = []
        self.lookback.clear()
        self.replay.stop()
        self.snapshots.clear()
        self.compare = None
        self.frozen = None
        self.split = None
        self.qr = None
        self.account_id = None
        self.look = Look(self.settings.frame_ids[0])

    # -- hand-off ----------------------------------------------------------------------------------------

    def show_handoff(self) -> bool:
        """Ask for a hand-off link of what was tried and show it as a QR code for 10 minutes."""
        looks = self._session_looks or [self.look]
        url = self.handoff(looks) if self.handoff is not None else None
        if url is None:  # none, or it comes later through show_qr
            return False
        self.show_qr(url)
        return True

    def show_qr(self, url: str) -> None:
        """Show ``url`` as the take-home QR code for 10 minutes (safe from another thread: a hand-off
        link that arrives after the request, see ``KioskLink.handoff_later``)."""
        self.qr = (url, self.clock() + 600.0)

    # -- the kiosk's own buttons -------------------------------------------------------------------------

    def press(self, name: str) -> None:
        """A touch on one of the large on-screen buttons (``kiosk_screen.BUTTONS``)."""
        ids = self.settings.frame_ids
        options = self.settings.options.get(self.look.frame_id, {})
        if name in ("prev", "next"):
            i = ids.index(self.look.frame_id) if self.look.frame_id in ids else 0
            self._wear(Look(ids[(i + (1 if name == "next" else -1)) % len(ids)]))
        elif name in ("colour", "lens", "size"):
            choices = options.get({"colour": "colours", "lens": "lenses", "size": "sizes"}[name], [])
            if choices:
                current = getattr(self.look, name)
                i = choices.index(current) if current in choices else 0
                self._wear(replace(self.look, **{name: choices[(i + 1) % len(choices)]}))
        elif name == "lookback":
            if self.replay.active:
                self.replay.stop()
            else:
                self.replay.start(self.clock())
        elif name == "handoff":
            self.show_handoff()

    def touch(self, x: int, y: int) -> str | None:
        """A touch at display pixel (x, y): the button pressed, if any."""
        for button in self.buttons:
            if button.contains(x, y):
                self.press(button.name)
                return button.name
        return None

    def try_exit(self, pin: str) -> bool:
        """True only for the staff PIN."""
        return verify_pin(pin, self.settings.pin_hash)

    # -- one frame ---------------------------------------------------------------------------------------

    def step(self) -> np.ndarray:
        """Apply pending commands, read and dress one frame, and return the picture to show:
        (H, W, 3) uint8 BGR at :attr:`size`."""
        self._apply_pending()
        now = self.clock()
        frame = self.read_frame()
        lang = self.settings.lang
        if frame is None:
            self.camera_ok = False
            base = (
                self._last_image
                if self._last_image is not None
                else np.zeros((*self.size[::-1], 3), np.uint8)
            )
            image = base // 2
            screen.banner(image, screen.text(lang, "no_camera"), top=False)
            self.mode = "no_camera"
            return self._finish(image, now)
        self.camera_ok = True
        self.frames += 1
        picture = frame.image
        if self._size_from_camera:
            self.size = (picture.shape[1], picture.shape[0])
            self._size_from_camera = False
        if (picture.shape[1], picture.shape[0]) != self.size:
            picture = cv2.resize(picture, self.size, interpolation=cv2.INTER_AREA)
        picture = cv2.flip(picture, 1)  # a mirror
        faces = self.dresser.track(picture, frame.timestamp_ms)
        if faces:
            self.faces_seen += 1
            self._last_face_t = now
            if self._look_since is None:
                self._look_since = now
        elif self._look_since is not None:
            self._close_look(until=self._last_face_t)
        if now - self._last_face_t > self.settings.attract_after_s:
            if self.mode != "attract":
                self._end_session()
            self.mode = "attract"
            return self._finish(screen.attract_screen(*self.size, now, lang), now, controls=False)
        image = self._dressed(picture, faces)
        self._last_image = image.copy()
        self.lookback.add(now, image)
        if self.compare is not None:
            a, b = self.compare
            self.mode = "compare"
            image = cv2.resize(side_by_side(self.snapshots[a], self.snapshots[b]), self.size)
        elif self.replay.active:
            self.mode = "lookback"
            shown = self.replay.frame(now)
            image = shown if shown is not None else image
            label = screen.text(lang, "replay")
            if self.replay.paused:
                label += f" - {screen.text(lang, 'paused')}"
            screen.banner(image, f"{label}  {self.replay.position_s:4.1f} s")
        elif self.frozen is not None:
            self.mode = "frozen"
            image = self.frozen.copy()
            screen.banner(image, screen.text(lang, "frozen"))
        else:
            self.mode = "split" if self.split else "live"
            if not faces:
                screen.banner(image, screen.text(lang, "no_face"))
        return self._finish(image, now)

    def _dressed(self, picture: np.ndarray, faces: list[FaceObservation]) -> np.ndarray:
        if self.split is None:
            image = picture.copy()
            if faces:
                self.dresser.dress(image, faces, self.look)
            return image
        left, right = picture.copy(), picture.copy()
        if faces:
            self.dresser.dress(left, faces, self.split.left)
            self.dresser.dress(right, faces, self.split.right)
        if self.split.mode == "halves":
            half = picture.shape[1] // 2
            out = left.copy()
            out[:, half:] = right[:, half:]
            out[:, half - 1 : half + 1] = 255
            return out
        return cv2.resize(side_by_side(left, right), self.size, interpolation=cv2.INTER_AREA)

    def _finish(self, image: np.ndarray, now: float, *, controls: bool = True) -> np.ndarray:
        if self.qr is not None:
            url, until = self.qr
            if now > until or self.qr_modules is None:
                self.qr = None
            else:
                screen.draw_qr(image, self.qr_modules(url), screen.text(self.settings.lang, "scan"))
        self.buttons = screen.draw_controls(image, self.settings.lang) if controls else []
        return image

    # -- what the remote sees ----------------------------------------------------------------------------

    def status(self) -> Command:
        """The live state reported to the staff remote (no picture, no personal data)."""
        return {
            "mode": self.mode,
            "look": self.look.to_json(),
            "split": None
            if self.split is None
            else {
                "mode": self.split.mode,
                "left": self.split.left.to_json(),
                "right": self.split.right.to_json(),
            },
            "frozen": self.frozen is not None,
            "replay": {
                "active": self.replay.active,
                "paused": self.replay.paused,
                "position_s": self.replay.position_s,
            },
            "lookback_s": round(self.lookback.span_s, 1),
            "snapshots": len(self.snapshots),
            "camera": self.camera_ok,
            "applied_seq": self.applied_seq,
        }
