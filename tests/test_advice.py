"""Frame-size advice: the tolerance rule, its texts, and ranking the real catalogue."""

from __future__ import annotations

import pytest

from calibration.advice import GOOD, TOO_NARROW, TOO_WIDE, UNKNOWN, advice_for, rank_frames
from calibration.face_shape import REFERENCE_RATIOS, REFERENCE_SD, classify
from calibration.measurements import Measurement, Measurements
from models3d.catalogue import FrameSize, load_catalogue


def _measured(face_width: float, ci: float = 2.0, pd: float | None = 63.0, shape=None) -> Measurements:
    return Measurements(
        pd_far=None if pd is None else Measurement("pd", pd, 1.5, "card"),
        face_width=Measurement("face_width", face_width, ci, "card"),
        face_shape=shape,
    )


def _size(total: float, lens: float = 52.0, bridge: float = 18.0) -> FrameSize:
    return FrameSize(f"{lens:.0f}□{bridge:.0f}-140", lens, bridge, 140.0, 40.0, total)


@pytest.mark.parametrize(
    ("total", "verdict"),
    [
        (130.0, TOO_NARROW),
        (131.9, TOO_NARROW),
        (132.0, GOOD),
        (136.0, GOOD),
        (142.0, GOOD),
        (142.1, TOO_WIDE),
        (150.0, TOO_WIDE),
    ],
)
def test_tolerance_rule(total, verdict):
    a = advice_for(_size(total), _measured(136.0))
    assert a.verdict == verdict
    assert a.difference_mm == pytest.approx(total - 136.0)
    assert a.total_width_mm == total and a.face_width_mm == 136.0


def test_texts_carry_the_numbers():
    a = advice_for(_size(140.0), _measured(136.0, ci=2.0))
    assert a.text_en == (
        "Good fit: frame 140 mm wide for a face of 136 ± 2 mm at the temples (+4 mm; good from −4 to +6 mm)."
    )
    assert a.text_it.startswith("Misura giusta: montatura larga 140 mm per un viso di 136 ± 2 mm alle tempie")
    narrow = advice_for(_size(128.0), _measured(136.0))
    assert narrow.text_en.startswith("Too narrow: frame 128 mm") and "(−8 mm;" in narrow.text_en
    assert narrow.text_it.startswith("Troppo stretta")
    wide = advice_for(_size(150.0), _measured(136.0))
    assert wide.text_en.startswith("Too wide") and wide.text_it.startswith("Troppo larga")
    assert set(a.to_dict()) >= {
        "verdict",
        "text_en",
        "text_it",
        "total_width_mm",
        "face_width_mm",
        "difference_mm",
    }


def test_borderline_when_the_interval_crosses_a_limit():
    assert not advice_for(_size(137.0), _measured(136.0, ci=2.0)).borderline
    near_limit = advice_for(_size(141.0), _measured(136.0, ci=2.0))  # +5, interval reaches +7
    assert near_limit.verdict == GOOD and near_limit.borderline
    assert "Close to the limit" in near_limit.text_en and "Vicino al limite" in near_limit.text_it
    assert advice_for(_size(137.0), _measured(136.0, ci=12.0)).borderline  # an iris-only measurement


def test_lens_centring_note():
    ok = advice_for(_size(138.0, lens=50, bridge=18), _measured(136.0, pd=63.0))  # frame PD 68: 2.5 mm/eye
    assert ok.decentration_mm == pytest.approx(2.5) and "decentred" not in ok.text_en
    far = advice_for(_size(138.0, lens=56, bridge=20), _measured(136.0, pd=60.0))  # frame PD 76: 8 mm/eye
    assert (
        far.decentration_mm == pytest.approx(8.0)
        and "decentred" in far.text_en
        and "decentrate" in far.text_it
    )
    assert far.verdict == GOOD  # a note, not a verdict


def test_unknown_without_a_face_width_and_other_inputs():
    a = advice_for(_size(138.0), None)
    assert a.verdict == UNKNOWN and "measure the face" in a.text_en
    records = [{"kind": "face_width", "value_mm": 136.0, "ci95_mm": 3.0, "method": "card"}]
    assert advice_for(_size(138.0), records).verdict == GOOD  # the web profile's stored records
    assert advice_for({"total_width": 150, "label": "x"}, {"face_width": 136.0}).verdict == TOO_WIDE
    with pytest.raises(ValueError, match="total_width"):
        advice_for({"label": "x"}, _measured(136.0))


def test_rank_the_real_catalogue():
    catalogue = load_catalogue()
    ranked = rank_frames(catalogue, _measured(136.0))
    assert len(ranked) == len(catalogue.frames)
    assert {a.frame_id for a in ranked} == set(catalogue.ids)
    order = {GOOD: 0, TOO_WIDE: 1, TOO_NARROW: 2}
    assert [order[a.verdict] for a in ranked] == sorted(order[a.verdict] for a in ranked)
    goods = [a for a in ranked if a.verdict == GOOD]
    assert goods and all(-4 <= a.difference_mm <= 6 for a in goods)
    # The best size of each frame is chosen: no other size of that frame fits better.
    for a in goods:
        frame = catalogue.get(a.frame_id)
        assert a.size_label in [s.label for s in frame.sizes]
        assert a.fit_score == min(advice_for(s, _measured(136.0)).fit_score for s in frame.sizes)
    only_good = rank_frames(catalogue, _measured(136.0), verdicts=["good"])
    assert [a.frame_id for a in only_good] == [a.frame_id for a in goods]
    every_size = rank_frames(catalogue, _measured(136.0), all_sizes=True)
    assert len(every_size) == sum(len(f.sizes) for f in catalogue.frames)
    with pytest.raises(ValueError, match="verdicts"):
        rank_frames(catalogue, _measured(136.0), verdicts=["perfect"])


def test_face_shape_only_breaks_ties():
    catalogue = load_catalogue()
    round_face = classify(REFERENCE_RATIOS + (-1.5, 0.0, 0.0, 1.0) * REFERENCE_SD)
    assert round_face.shape == "round"
    plain = rank_frames(catalogue, _measured(136.0))
    shaped = rank_frames(catalogue, _measured(136.0, shape=round_face))
    assert sorted(a.frame_id for a in plain) == sorted(a.frame_id for a in shaped)  # never a filter
    assert [a.verdict for a in plain] == [a.verdict for a in shaped]
    # Within the best tie group, frames that suit a round face (angular ones) come first.
    top = [a for a in shaped if a.verdict == GOOD and a.fit_score < 2.0]
    flags = [a.shape_suggested for a in top]
    assert flags == sorted(flags, reverse=True)
    assert shaped[0].shape_suggested
