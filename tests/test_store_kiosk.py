"""The mirror kiosk's logic (tryon.kiosk) with a fake camera, dresser, command feed and clock.

Evidence is read from the pixels of the picture the kiosk returns: the fake dresser paints each
look in its own colour, and the fake camera paints each frame's index as its grey level.
"""

from __future__ import annotations

import numpy as np
import pytest
from kiosk_fakes import FakeCamera, FakeClock, FakeDresser, FakeFeed, look_colour

from tryon.kiosk import CommandError, Kiosk, KioskSettings, Look, PipelineDresser, check_command, hash_pin

FRAMES = ["milano-round", "luna-round", "bologna-square"]
PIN_HASH = hash_pin("4321", iterations=1000)


def make_kiosk(faces: int = 1, **kw: object) -> tuple[Kiosk, FakeCamera, FakeFeed, FakeClock, list]:
    clock = FakeClock()
    camera = FakeCamera(clock, faces=faces)
    feed = FakeFeed()
    events: list = []
    settings = KioskSettings(
        "milano-brera",
        list(FRAMES),
        PIN_HASH,
        options={"milano-round": {"colours": ["gold", "silver"], "lenses": ["clear"], "sizes": ["47"]}},
    )
    kiosk = Kiosk(
        settings, FakeDresser(), camera.read, feed, clock, events=events.append, size=camera.size, **kw
    )
    return kiosk, camera, feed, clock, events


def face_pixel(image: np.ndarray, face: int = 0) -> tuple[int, int, int]:
    """The colour painted on face ``face`` (faces counted from the left of the mirrored picture)."""
    h, w = image.shape[:2]
    xs = [w - (w // 8 + w // 8) - 1, w - (w // 8 + w // 2 + w // 8) - 1]  # face centres, mirrored
    return tuple(int(v) for v in image[h // 4 + 5, xs[face]])


def run(kiosk: Kiosk, clock: FakeClock, steps: int, dt: float = 1 / 30) -> np.ndarray:
    image = None
    for _ in range(steps):
        clock.advance(dt)
        image = kiosk.step()
    assert image is not None
    return image


def test_a_remote_frame_command_changes_the_glasses_on_the_face() -> None:
    kiosk, _camera, feed, clock, _ = make_kiosk()
    image = run(kiosk, clock, 2)
    assert kiosk.mode == "live"
    assert face_pixel(image) == look_colour(Look("milano-round"))
    feed.send(1, {"type": "frame", "frame_id": "luna-round"})
    feed.send(2, {"type": "colour", "colour": "havana"})
    image = run(kiosk, clock, 1)
    assert face_pixel(image) == look_colour(Look("luna-round", colour="havana"))
    assert face_pixel(image) != look_colour(Look("luna-round"))  # the colour came second, and counts
    assert feed.acked == [1, 2] and kiosk.applied_seq == 2


def test_commands_delivered_again_after_a_reconnect_are_applied_once() -> None:
    kiosk, _camera, feed, clock, _ = make_kiosk()
    run(kiosk, clock, 1)
    feed.send(1, {"type": "frame", "frame_id": "luna-round"})
    feed.send(2, {"type": "snapshot"})
    run(kiosk, clock, 2)
    assert len(kiosk.snapshots) == 1
    # The connection dropped before the server saw the acknowledgement: both come again, plus a new one.
    feed.send(1, {"type": "frame", "frame_id": "luna-round"})
    feed.send(2, {"type": "snapshot"})
    feed.send(3, {"type": "frame", "frame_id": "bologna-square"})
    image = run(kiosk, clock, 1)
    assert len(kiosk.snapshots) == 1  # not taken twice
    assert face_pixel(image) == look_colour(Look("bologna-square"))
    assert feed.acked == [1, 2, 1, 2, 3]


def test_a_frame_outside_the_stores_stock_is_refused_and_nothing_changes() -> None:
    kiosk, _camera, feed, clock, _ = make_kiosk()
    run(kiosk, clock, 1)
    feed.send(1, {"type": "frame", "frame_id": "diva-cat-eye"})
    image = run(kiosk, clock, 1)
    assert kiosk.look == Look("milano-round")
    assert face_pixel(image) == look_colour(Look("milano-round"))
    assert feed.acked == [1]  # refused, but acknowledged: it will not come back


@pytest.mark.parametrize(
    "command",
    [
        [],
        {"type": "explode"},
        {"type": "frame"},
        {"type": "frame", "frame_id": 7},
        {"type": "frame", "frame_id": "x" * 65},
        {"type": "frame", "frame_id": "luna-round", "extra": 1},
        {"type": "freeze", "on": "yes"},
        {
            "type": "split",
            "on": True,
            "mode": "quarters",
            "left": {"frame_id": "a"},
            "right": {"frame_id": "b"},
        },
        {"type": "split", "on": True, "mode": "halves", "left": {"frame_id": "a"}, "right": {"id": "b"}},
        {"type": "lookback", "action": "rewind"},
        {"type": "lookback", "action": "scrub", "position_s": 99},
        {"type": "lookback", "action": "compare", "a": True, "b": 1},
        {"type": "resume", "looks": [{"frame_id": "a"}] * 21},
    ],
)
def test_malformed_commands_are_refused_with_a_reason(command: object) -> None:
    with pytest.raises(CommandError) as info:
        check_command(command)
    assert str(info.value)


def test_split_mirror_halves_and_panes_wear_two_looks_on_the_same_face() -> None:
    kiosk, _camera, feed, clock, _ = make_kiosk()
    left, right = Look("milano-round", colour="gold"), Look("luna-round", colour="olive")
    feed.send(
        1, {"type": "split", "on": True, "mode": "halves", "left": left.to_json(), "right": right.to_json()}
    )
    image = run(kiosk, clock, 1)
    assert kiosk.mode == "split"
    h, w = image.shape[:2]
    # The face straddles nothing here: each half of the picture is dressed with its own look, so the
    # face's block (right of centre after the mirror flip) shows the right-hand look.
    assert face_pixel(image) == look_colour(right)
    # Panes: two copies side by side, each at half width; the face appears in both, one look each.
    feed.send(
        2, {"type": "split", "on": True, "mode": "panes", "left": left.to_json(), "right": right.to_json()}
    )
    image = run(kiosk, clock, 1)
    y = h // 4 + 5
    left_pane, right_pane = image[y, : w // 2], image[y, w // 2 :]
    assert (left_pane == look_colour(left)).all(axis=1).any()
    assert not (left_pane == look_colour(right)).all(axis=1).any()
    assert (right_pane == look_colour(right)).all(axis=1).any()
    feed.send(3, {"type": "split", "on": False, "mode": None, "left": None, "right": None})
    image = run(kiosk, clock, 1)
    assert kiosk.mode == "live" and face_pixel(image) == look_colour(Look("milano-round"))


def test_split_halves_dress_each_half_of_one_face_differently() -> None:
    kiosk, camera, feed, clock, _ = make_kiosk()
    camera.faces = 0

    def centred(orig=camera.read):  # one wide face across the middle of the picture
        frame = orig()
        if frame is not None:
            w, h = camera.size
            frame.image[h // 4 : h // 2, w // 4 : 3 * w // 4] = (120, 160, 210)
        return frame

    kiosk.read_frame = centred
    left, right = Look("milano-round"), Look("bologna-square")
    feed.send(
        1, {"type": "split", "on": True, "mode": "halves", "left": left.to_json(), "right": right.to_json()}
    )
    image = run(kiosk, clock, 1)
    h, w = image.shape[:2]
    y = h // 4 + 5
    assert tuple(image[y, w // 2 - 10]) == look_colour(left)
    assert tuple(image[y, w // 2 + 10]) == look_colour(right)


def test_look_back_keeps_20_seconds_in_bounded_memory_and_replays_pauses_scrubs() -> None:
    kiosk, camera, feed, clock, _ = make_kiosk()
    run(kiosk, clock, 30 * 25)  # 25 s at 30 fps
    assert 19.5 <= kiosk.lookback.span_s <= 20.0
    assert len(kiosk.lookback) <= 20 * 12 + 1
    assert kiosk.lookback.nbytes <= kiosk.lookback.max_bytes
    oldest_index = camera.index - 20 * 30  # the frame shown 20 s ago
    feed.send(1, {"type": "lookback", "action": "replay"})
    image = run(kiosk, clock, 1)
    assert kiosk.mode == "lookback"
    grey = int(image[h_grey_row(image), 2, 0])
    assert abs(grey - (oldest_index % 200 + 20)) <= 6  # JPEG and 12 fps sampling: a frame or two
    feed.send(2, {"type": "lookback", "action": "scrub", "position_s": 10.0})
    image = run(kiosk, clock, 1)
    grey_10 = int(image[h_grey_row(image), 2, 0])
    assert abs(grey_10 - ((oldest_index + 300) % 200 + 20)) <= 8
    run(kiosk, clock, 30)  # paused after a scrub: one second later it still shows the same moment
    assert abs(kiosk.replay.position_s - 10.0) < 0.2
    feed.send(3, {"type": "lookback", "action": "play"})
    run(kiosk, clock, 30)
    assert 10.8 < kiosk.replay.position_s < 11.3
    feed.send(4, {"type": "lookback", "action": "live"})
    run(kiosk, clock, 1)
    assert kiosk.mode == "live"


def h_grey_row(image: np.ndarray) -> int:
    return image.shape[0] // 2 + 4  # below the faces and above the controls


def test_compare_two_snapshots_side_by_side() -> None:
    kiosk, _camera, feed, clock, _ = make_kiosk()
    run(kiosk, clock, 1)
    feed.send(1, {"type": "snapshot"})
    feed.send(2, {"type": "frame", "frame_id": "luna-round"})
    run(kiosk, clock, 1)
    feed.send(3, {"type": "snapshot"})
    run(kiosk, clock, 1)
    feed.send(4, {"type": "lookback", "action": "compare", "a": 0, "b": 1})
    image = run(kiosk, clock, 1)
    assert kiosk.mode == "compare"
    h, w = image.shape[:2]
    y = h // 4 + 5
    assert (np.abs(image[y, : w // 2].astype(int) - look_colour(Look("milano-round"))).sum(axis=1) < 30).any()
    assert (np.abs(image[y, w // 2 :].astype(int) - look_colour(Look("luna-round"))).sum(axis=1) < 30).any()
    feed.send(5, {"type": "lookback", "action": "compare", "a": 0, "b": 5})
    run(kiosk, clock, 1)
    assert kiosk.applied_seq == 5  # refused (no snapshot 5), acknowledged, nothing else changed


def test_freeze_holds_the_picture_while_the_camera_moves_on() -> None:
    kiosk, _camera, feed, clock, _ = make_kiosk()
    before = run(kiosk, clock, 3)
    feed.send(1, {"type": "freeze", "on": True})
    frozen = run(kiosk, clock, 10)
    assert kiosk.mode == "frozen"
    row = h_grey_row(frozen)
    assert abs(int(frozen[row, 2, 0]) - int(before[row, 2, 0])) <= 1
    feed.send(2, {"type": "freeze", "on": False})
    live = run(kiosk, clock, 1)
    assert int(live[row, 2, 0]) != int(frozen[row, 2, 0])


def test_attract_screen_after_30_s_without_a_face_and_back() -> None:
    kiosk, camera, _feed, clock, events = make_kiosk()
    run(kiosk, clock, 5)
    assert kiosk.mode == "live"
    camera.faces = 0
    run(kiosk, clock, 29, dt=1.0)
    assert kiosk.mode == "live"  # 29 s without a face: still the mirror
    run(kiosk, clock, 2, dt=1.0)
    assert kiosk.mode == "attract"
    assert [e["kind"] for e in events] == ["tried"]  # the look worn is reported once, with its time
    assert events[0]["frame_id"] == "milano-round" and 100 <= events[0]["duration_ms"] <= 300
    camera.faces = 1
    run(kiosk, clock, 1)
    assert kiosk.mode == "live"


def test_an_hour_without_a_face_stays_on_the_attract_screen_in_bounded_memory() -> None:
    kiosk, camera, _feed, clock, events = make_kiosk(faces=0)
    for _ in range(3600):
        clock.advance(1.0)
        kiosk.step()
        assert kiosk.mode == "attract"
    assert len(kiosk.lookback) == 0 and not kiosk.snapshots and events == []
    camera.faces = 1
    run(kiosk, clock, 1)
    assert kiosk.mode == "live"


def test_camera_unplugged_and_replugged_keeps_taking_commands() -> None:
    kiosk, camera, feed, clock, _ = make_kiosk()
    run(kiosk, clock, 3)
    camera.plugged = False
    run(kiosk, clock, 60)
    assert kiosk.mode == "no_camera" and not kiosk.camera_ok
    feed.send(1, {"type": "frame", "frame_id": "bologna-square"})
    run(kiosk, clock, 1)
    assert kiosk.applied_seq == 1
    camera.plugged = True
    image = run(kiosk, clock, 1)
    assert kiosk.mode == "live" and face_pixel(image) == look_colour(Look("bologna-square"))


def test_two_faces_at_the_mirror_are_both_dressed() -> None:
    kiosk, _camera, _feed, clock, _ = make_kiosk(faces=2)
    image = run(kiosk, clock, 1)
    expected = look_colour(Look("milano-round"))
    assert face_pixel(image, 0) == expected and face_pixel(image, 1) == expected
    one, *_ = make_kiosk(faces=1)  # negative control: the second block is bare with one face
    one_clock = one.clock
    one_clock.advance(0.1)  # type: ignore[attr-defined]
    assert face_pixel(one.step(), 1) != expected


def test_the_large_buttons_respond_to_touches() -> None:
    kiosk, _camera, _feed, clock, _ = make_kiosk()
    run(kiosk, clock, 1)
    by_name = {b.name: b for b in kiosk.buttons}
    assert min(b.h for b in kiosk.buttons) >= 48
    nxt = by_name["next"]
    assert kiosk.touch(nxt.x + nxt.w // 2, nxt.y + nxt.h // 2) == "next"
    assert kiosk.look == Look("luna-round")
    assert kiosk.touch(1, 1) is None


def test_only_the_staff_pin_leaves_the_kiosk() -> None:
    kiosk, *_ = make_kiosk()
    assert kiosk.try_exit("4321")
    assert not kiosk.try_exit("1234")
    assert not kiosk.try_exit("")


def test_the_take_home_qr_code_decodes_to_the_link_and_goes_after_10_minutes() -> None:
    import cv2

    from web.store.cli import qr_modules

    url = "https://shop.example.com/store/h/AbCdEf0123456789AbCdEf0123456789AbCdEf01234"
    asked: list[list[Look]] = []

    def handoff(looks: list[Look]) -> str:
        asked.append(looks)
        return url

    kiosk, _camera, feed, clock, _ = make_kiosk(handoff=handoff, qr_modules=qr_modules)
    kiosk.size = (640, 480)
    run(kiosk, clock, 1)
    feed.send(1, {"type": "frame", "frame_id": "luna-round"})
    feed.send(2, {"type": "handoff"})
    image = run(kiosk, clock, 1)
    assert asked == [[Look("luna-round")]]  # what was tried since the customer stepped in
    decoded, _points, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert decoded == url
    run(kiosk, clock, 9, dt=66.0)  # 594 s later: still shown
    assert kiosk.qr is not None
    image = run(kiosk, clock, 1, dt=7.0)  # 601 s
    assert kiosk.qr is None and cv2.QRCodeDetector().detectAndDecode(image)[0] == ""


@pytest.mark.slow
def test_two_real_faces_at_the_mirror_are_both_dressed(data, face_model) -> None:
    """The real tracker and renderer on a photo of two people: glasses drawn on both faces (the
    pixels around each pair of eyes change), the rest of the picture untouched."""
    import cv2

    from models3d.configurator import configure
    from tryon.pipeline import PipelineOptions, TryOnPipeline
    from tryon.sources import ImageSource

    photo = data("faces", "two_people.jpg")
    raw = cv2.flip(cv2.imread(str(photo)), 1)  # the kiosk shows a mirror picture

    def build(look: Look):  # noqa: ANN202
        return configure(look.frame_id, size=look.size, colour=look.colour, lens=look.lens)

    class Watching(PipelineDresser):
        faces: list = []

        def track(self, image, timestamp_ms):  # noqa: ANN001, ANN202
            self.faces = super().track(image, timestamp_ms)
            return self.faces

    clock = FakeClock()
    options = PipelineOptions(max_faces=2, running_mode="video", model_path=str(face_model))
    with (
        ImageSource(photo, repeat=6) as source,
        TryOnPipeline(build(Look("milano-round")), options) as pipeline,
    ):
        dresser = Watching(pipeline, build)
        settings = KioskSettings("milano-brera", list(FRAMES), PIN_HASH)
        kiosk = Kiosk(settings, dresser, source.read, FakeFeed(), clock)
        for _ in range(5):
            clock.advance(1 / 30)
            image = kiosk.step()
    assert len(dresser.faces) == 2 and kiosk.mode == "live"
    changed = np.abs(image.astype(int) - raw.astype(int)).sum(axis=2) > 40
    for face in dresser.faces:
        x, y, w, h = (int(v) for v in face.bbox)
        eyes = changed[y + h // 5 : y + h // 2, x : x + w]
        assert eyes.mean() > 0.08, f"face at {face.bbox}: {eyes.mean():.3f} of the eye band changed"
    top = changed[: image.shape[0] // 10]  # above both heads: untouched (a control)
    assert top.mean() < 0.01
