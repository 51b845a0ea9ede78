"""Catalogue pages: the list with filters and sorting, a frame's detail page, thumbnails."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from web.catalogue import filters


@pytest.fixture(scope="module")
def catalogue():
    from models3d.catalogue import load_catalogue

    return load_catalogue()


@pytest.fixture(scope="module")
def thumbs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("thumbnails")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, thumbs: Path):
    from web import create_app

    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
            "SECRET_KEY": "test",
            "RATELIMIT_ENABLED": False,
            "TRYON_THUMBNAIL_DIR": str(thumbs),
        }
    )
    return app.test_client()


def _frame_ids(html: str) -> list[str]:
    return re.findall(r'<article class="tx-card" data-frame-id="([^"]+)"', html)


# -- filter logic --------------------------------------------------------------------------------------


def test_parse_query_reads_lists_and_reports_bad_values() -> None:
    q = filters.parse_query(
        MultiDict(
            [
                ("shape", "round,oval"),
                ("shape", "Aviator"),
                ("size", "small"),
                ("size", "huge"),
                ("price_min", "200"),
                ("price_max", "100"),
                ("sort", "price_desc"),
                ("colour", "black"),
            ]
        )
    )
    assert q.shapes == ("round", "oval", "aviator")
    assert q.sizes == ("small",)
    assert (q.price_min, q.price_max) == (100.0, 200.0)  # swapped into order
    assert q.sort == "price_desc" and q.colours == ("black",)
    assert len(q.errors) == 1 and "huge" in q.errors[0]
    q = filters.parse_query(MultiDict([("price_min", "cheap"), ("sort", "random")]))
    assert q.price_min is None and q.sort == "featured" and len(q.errors) == 2
    assert not filters.parse_query(MultiDict()).active


def test_size_groups_follow_lens_width() -> None:
    assert [filters.size_group(w) for w in (47, 49.5, 50, 53, 54, 62)] == [
        "small",
        "small",
        "medium",
        "medium",
        "large",
        "large",
    ]


def test_apply_filters_and_sorts(catalogue) -> None:
    q = filters.parse_query(MultiDict([("shape", "round"), ("shape", "oval"), ("sort", "price_asc")]))
    found = filters.apply(catalogue.frames, q)
    assert found and {f.shape for f in found} <= {"round", "oval"}
    assert [f.price for f in found] == sorted(f.price for f in found)
    assert len(found) == sum(f.shape in ("round", "oval") for f in catalogue.frames)

    q = filters.parse_query(MultiDict([("size", "large")]))
    found = filters.apply(catalogue.frames, q)
    assert found and all(any(s.lens_width >= 54 for s in f.sizes) for f in found)

    colour = catalogue.frames[0].colours[0].id
    found = filters.apply(catalogue.frames, filters.parse_query(MultiDict([("colour", colour)])))
    assert found and all(colour in [c.id for c in f.colours] for f in found)

    q = filters.parse_query(MultiDict([("price_min", "120"), ("price_max", "150")]))
    assert all(120 <= f.price <= 150 for f in filters.apply(catalogue.frames, q))

    q = filters.parse_query(MultiDict([("sort", "width")]))
    widths = [min(s.total_width for s in f.sizes) for f in filters.apply(catalogue.frames, q)]
    assert widths == sorted(widths)


def test_facets_cover_the_catalogue(catalogue) -> None:
    facets = filters.facets(catalogue.frames)
    assert set(facets.shapes) == {f.shape for f in catalogue.frames}
    assert {c.id for c in facets.colours} == {c.id for f in catalogue.frames for c in f.colours}
    assert facets.price_min == min(f.price for f in catalogue.frames)
    assert facets.sizes and set(facets.sizes) <= set(filters.SIZE_GROUPS)


# -- pages --------------------------------------------------------------------------------------------------


def test_list_shows_every_frame_with_price_sizes_and_colours(client, catalogue) -> None:
    r = client.get("/catalogue/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert _frame_ids(html) == catalogue.ids
    for frame in catalogue.frames:
        assert frame.name in html
        for size in frame.sizes:
            assert size.label in html
        for colour in frame.colours:
            assert f"--swatch: {colour.hex}" in html
    assert "€149.00" in html  # Milano, in the English locale
    assert f"/catalogue/thumbnails/{catalogue.ids[0]}.png" in html
    assert f'href="/tryon/?frame={catalogue.ids[0]}"' in html


def test_list_filters_from_the_query_string(client, catalogue) -> None:
    html = client.get("/catalogue/?shape=aviator").get_data(as_text=True)
    assert _frame_ids(html) == [f.id for f in catalogue.frames if f.shape == "aviator"]
    html = client.get("/catalogue/?sort=price_desc").get_data(as_text=True)
    prices = {f.id: f.price for f in catalogue.frames}
    ids = _frame_ids(html)
    assert [prices[i] for i in ids] == sorted(prices.values(), reverse=True)
    html = client.get("/catalogue/?price_max=100").get_data(as_text=True)
    assert set(_frame_ids(html)) == {f.id for f in catalogue.frames if f.price <= 100}
    html = client.get("/catalogue/?shape=hexagon").get_data(as_text=True)
    assert _frame_ids(html) == [] and "No frame matches" in html
    html = client.get("/catalogue/?size=enormous").get_data(as_text=True)
    assert "Some filters were ignored" in html and len(_frame_ids(html)) == len(catalogue.ids)


def test_list_in_italian(client, catalogue) -> None:
    html = client.get("/catalogue/?lang=it").get_data(as_text=True)
    colour = catalogue.frames[0].colours[0]
    assert colour.name_it in html
    assert "Montature" in html and "Prova" in html
    assert "149,00\xa0€" in html


def test_detail_page_has_every_measurement(client, catalogue) -> None:
    frame = catalogue.get("milano-round")
    r = client.get("/catalogue/milano-round")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    table = html[html.index('<table class="tx-sizes">') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)[1:]
    assert len(rows) == len(frame.sizes)
    for row, size in zip(rows, frame.sizes, strict=True):
        cells = re.findall(r"<td>([^<]*)</td>", row)
        assert size.label in row
        assert [float(c) for c in cells] == [
            size.lens_width,
            size.bridge,
            size.temple_length,
            size.lens_height,
            size.total_width,
        ]
    for lens in frame.lenses:
        assert f'value="{lens.id}"' in html
    assert 'action="/tryon/"' in html and 'value="photo"' in html


def test_detail_unknown_frame_is_404(client) -> None:
    assert client.get("/catalogue/no-such-frame").status_code == 404


def test_thumbnail_or_placeholder(client, thumbs: Path) -> None:
    from web.catalogue.views import PLACEHOLDER

    r = client.get("/catalogue/thumbnails/milano-round.png")
    assert r.status_code == 200 and r.mimetype == "image/png"
    assert r.data == PLACEHOLDER.read_bytes()  # not rendered yet: the neutral drawing
    from PIL import Image

    Image.new("RGB", (40, 24), (200, 10, 10)).save(thumbs / "milano-round.png")
    r = client.get("/catalogue/thumbnails/milano-round.png")
    assert r.status_code == 200 and r.mimetype == "image/png"
    assert r.data == (thumbs / "milano-round.png").read_bytes()
    assert client.get("/catalogue/thumbnails/..%2Fsecret.png").status_code == 404
    assert client.get("/catalogue/thumbnails/no-such-frame.png").status_code == 404


def test_a_measured_shopper_can_sort_and_filter_by_fit(tmp_path: Path, catalogue) -> None:
    from calibration.advice import rank_frames
    from calibration.measurements import Measurements
    from web.testing import csrf_headers, make_app, register

    app = make_app(tmp_path)
    client = app.test_client()
    anonymous = client.get("/catalogue/").get_data(as_text=True)
    assert 'value="fit"' not in anonymous and "tx-fit-badge" not in anonymous  # nothing to judge by
    register(client, "fit@example.com", consent_snapshots=True)
    records = [
        {"kind": "pd", "value_mm": 63.0, "ci95_mm": 1.5, "method": "iris"},
        {"kind": "face_width", "value_mm": 136.0, "ci95_mm": 2.0, "method": "iris"},
    ]
    for record in records:
        assert (
            client.post("/profile/measurements", json=record, headers=csrf_headers(client)).status_code == 201
        )
    expected = rank_frames(catalogue.frames, Measurements.from_records(records))

    page = client.get("/catalogue/?sort=fit").get_data(as_text=True)
    shown = re.findall(r'<article class="tx-card" data-frame-id="([^"]+)"', page)
    assert shown == [a.frame_id for a in expected]
    assert page.count('class="tx-fit-badge"') == len(shown)
    good = [a.frame_id for a in expected if a.verdict == "good"]
    assert 0 < len(good) < len(expected)
    only = client.get("/catalogue/?sort=fit&fit=good").get_data(as_text=True)
    assert re.findall(r'<article class="tx-card" data-frame-id="([^"]+)"', only) == good
    italian = client.get("/catalogue/?sort=fit&lang=it").get_data(as_text=True)
    assert "La tua misura" in italian and "Solo le montature della mia misura" in italian
