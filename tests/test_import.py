"""Importing third-party models: the two shared glTF models, OBJ in odd units and orientations,
refusals that leave the catalogue untouched, calibration re-apply, and the CLI."""

from __future__ import annotations

import logging
import shutil
import statistics
import tomllib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import trimesh

from models3d.catalogue import DEFAULT_CATALOGUE, load_catalogue
from models3d.configurator import configure
from models3d.importer import ModelImportError, import_model, reapply
from models3d.importer import files as importer_files
from models3d.parametric import FrameSpec, build_model
from models3d.validate import validate_catalogue

KHRONOS = ("glasses3d", "khronos_sunglasses", "SunglassesKhronos.glb")
THUG = ("glasses3d", "mindar_thuglife", "scene.gltf")


# Generated meshes go to a per-test cache, never the developer's (fixtures in conftest.py).
pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A catalogue folder of its own (a copy of the demo catalogue), so imports never touch models3d/."""
    folder = tmp_path / "catalogue"
    folder.mkdir()
    shutil.copy(DEFAULT_CATALOGUE, folder / "catalogue.toml")
    return folder


def write_obj(path: Path, model, linear: np.ndarray, *, mtl: bool = True, lens_alpha: float = 0.3) -> None:
    """Write a GlassesModel as OBJ (+ .mtl), vertices mapped by ``linear`` ((3, 3))."""
    lines = ["mtllib frame.mtl"] if mtl else []
    offset = 1
    for part in model.parts:
        v = part.mesh.vertices @ linear.T
        lines.append(f"o {part.name}")
        lines.append(f"usemtl {'glass' if part.role == 'lens' else 'frame_' + part.role}")
        lines += [f"v {a:.6f} {b:.6f} {c:.6f}" for a, b, c in v]
        faces = part.mesh.faces[:, ::-1] if np.linalg.det(linear) < 0 else part.mesh.faces
        lines += [f"f {a + offset} {b + offset} {c + offset}" for a, b, c in faces]
        offset += len(v)
    path.write_text("\n".join(lines) + "\n")
    if mtl:
        roles = ("front", "temple", "pad", "hinge")
        text = "".join(f"newmtl frame_{r}\nKd 0.1 0.1 0.1\n" for r in roles)
        (path.parent / "frame.mtl").write_text(text + f"newmtl glass\nKd 0.8 0.8 0.9\nd {lens_alpha}\n")


def catalogue_median_width(root: Path) -> float:
    """The median total width over every size of the catalogue in ``root``, mm."""
    return statistics.median(s.total_width for f in load_catalogue(root / "catalogue.toml") for s in f.sizes)


# -- models in conventions that are not in ../shared, built from it -------------------------------------


def two_unit_wide_glb(data: Callable[..., Path], folder: Path) -> Path:
    """The Khronos sunglasses scaled to 2 units wide: no unit (m, cm, mm, in) makes that a frame."""
    scene = trimesh.load(data(*KHRONOS), force="scene")
    scene.apply_scale(2.0 / scene.extents[0])
    path = folder / "two_units.glb"
    path.write_bytes(scene.export(file_type="glb"))
    assert trimesh.load(path, force="scene").extents[0] == pytest.approx(2.0, rel=1e-3)
    return path


def gltf_facing_plus_x(source: Path, folder: Path) -> Path:
    """A glTF model turned 90° about +y, so that its front faces +X instead of glTF's +Z."""
    scene = trimesh.load(source, force="scene")
    scene.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [0, 1, 0]))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "facing_x.gltf"
    scene.export(path)  # writes the .gltf and its buffers beside it
    turned = trimesh.load(path, force="scene")
    assert turned.extents[2] > 0.9 * max(turned.extents)  # across the face is now along z
    return path


def obj_without_materials(scene: trimesh.Scene, path: Path) -> Path:
    """``scene`` as an OBJ with no .mtl: the loader merges its objects into one mesh named after
    the first object, so neither part names nor materials say which triangles are the lenses."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(scene.export(file_type="obj", include_texture=False))
    text = path.read_text()
    assert "mtllib" not in text and "usemtl" not in text
    assert len(trimesh.load(path, force="scene").geometry) == 1
    return path


def parametric_scene(spec: FrameSpec) -> trimesh.Scene:
    """A catalogue (parametric) frame as a scene of plain meshes, in metres like a glTF."""
    scene = trimesh.Scene()
    for part in build_model(spec).parts:
        scene.add_geometry(part.mesh.copy(), geom_name=part.name)
    scene.apply_scale(0.001)
    return scene


def test_khronos_sunglasses_import(data: Callable[..., Path], root: Path) -> None:
    result = import_model(data(*KHRONOS), "khronos-sunglasses", root)
    cal = result.calibration
    assert cal.unit_scale == 1000.0 and cal.front == "+z" and cal.up == "+y"
    assert any("metres" in m for m in result.messages)
    roles = cal.roles
    assert roles["LensesExterior"] == "lens" and roles["LensesInterior"] == "lens"
    assert roles["Nosepads"] == "pad"  # transmissive too, but named as pads
    assert roles["TempleLeft"] == "temple" and roles["EarhookRight"] == "temple"
    assert roles["Frames"] == "front"
    size = result.entry["sizes"][0]
    assert size["total_width"] == pytest.approx(150, abs=1.5)  # 0.1505 m wide
    a = result.model.anchors
    assert a["lens_center_left"][0] == pytest.approx(-a["lens_center_right"][0], abs=0.5)
    assert abs(a["lens_center_left"][1]) < 1e-6 and a["bridge"][0] == 0.0 and a["bridge"][1] > 0
    for side, sign in (("left", 1), ("right", -1)):
        assert sign * a[f"hinge_{side}"][0] > 65
        assert a[f"temple_end_{side}"][2] < -100  # the temples run back...
        assert a[f"temple_end_{side}"][1] < a[f"hinge_{side}"][1] - 10  # ...and down over the ears
    for name in ("model.glb", "source.glb", "calibration.toml"):
        assert (root / "imported" / "khronos-sunglasses" / name).is_file()
    # The catalogue in that folder now has it, and the configurator renders it.
    cat = load_catalogue(root / "catalogue.toml")
    entry = cat.get("khronos-sunglasses")
    assert entry.geometry.type == "model"
    model = configure("khronos-sunglasses", catalogue=cat)
    lens_parts = [p for p in model.parts if p.role == "lens"]
    assert len(lens_parts) == 2 and all(p.material is None for p in lens_parts)
    assert any(p.material is not None for p in model.parts if p.role != "lens")  # "as modelled"
    black = configure("khronos-sunglasses", colour="black", lens="grey", catalogue=cat)
    assert all(p.material is None for p in black.parts)
    assert all(a.mesh is b.mesh for a, b in zip(model.parts, black.parts, strict=True))
    # The repository's own catalogue is untouched.
    assert "khronos-sunglasses" not in load_catalogue()


def test_thug_life_import_in_arbitrary_units(data: Callable[..., Path], root: Path) -> None:
    result = import_model(data(*THUG), "thug-life", root, name="Thug Life", price=19.0)
    assert result.calibration.unit_scale == 1.0
    assert result.calibration.front == "+z" and result.calibration.up == "+y"
    assert result.entry["sizes"][0]["total_width"] == pytest.approx(139, abs=1.5)
    a = result.model.anchors
    assert a["temple_end_left"][2] < -100 and a["temple_end_right"][2] < -100
    assert a["lens_center_left"][0] == pytest.approx(-a["lens_center_right"][0], abs=1.0)
    entry = load_catalogue(root / "catalogue.toml").get("thug-life")
    assert entry.name == "Thug Life" and entry.price == 19.0


@pytest.mark.slow
def test_imported_models_sit_on_the_astronaut(data: Callable[..., Path], root: Path) -> None:
    import cv2

    from tryon.fit import fit_metrics
    from tryon.pipeline import PipelineOptions, TryOnPipeline

    import_model(data(*KHRONOS), "khronos-sunglasses", root)
    import_model(data(*THUG), "thug-life", root)
    cat = load_catalogue(root / "catalogue.toml")
    image = cv2.imread(str(data("faces", "astronaut.png")))
    with TryOnPipeline(configure("thug-life", catalogue=cat), PipelineOptions(running_mode="image")) as pipe:
        for frame_id in ("khronos-sunglasses", "thug-life"):
            model = configure(frame_id, catalogue=cat)
            pipe.set_glasses(model)
            result = pipe.process(image)
            assert len(result.faces) == 1
            face = result.faces[0]
            lm = face.observation.landmarks_px
            ipd = float(np.linalg.norm(lm[473] - lm[468]))
            bridge = np.asarray(face.anchors_px["bridge"])
            assert abs(bridge[0] - lm[168][0]) < 0.1 * ipd, frame_id
            assert abs(bridge[1] - lm[168][1]) < 0.3 * ipd, frame_id
            # Wearer's right iris is 468, left 473.
            assert np.linalg.norm(np.asarray(face.anchors_px["lens_center_right"]) - lm[468]) < 0.15 * ipd
            assert np.linalg.norm(np.asarray(face.anchors_px["lens_center_left"]) - lm[473]) < 0.15 * ipd
            fit = fit_metrics(model, face.observation, pipe.model_matrix(face.pose))
            # The temples run back to the ears: their ends lie near the ear region on both sides.
            assert fit.temple_end_to_ear_mm["left"] < 55 and fit.temple_end_to_ear_mm["right"] < 55, fit
            assert fit.temple_reaches_ear == {"left": True, "right": True}
            assert not np.array_equal(result.image, image)


def test_obj_in_centimetres_facing_minus_x_with_z_up(tmp_path: Path, root: Path) -> None:
    spec = FrameSpec("rectangle", 54, 18, 145, 38, 140)
    source_model = build_model(spec)
    # File axes: forwards = -x, up = +z, wearer's left = -y (right-handed), units cm.
    linear = np.array([[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]) * 0.1
    obj = tmp_path / "obj" / "frame.obj"
    obj.parent.mkdir()
    write_obj(obj, source_model, linear)
    result = import_model(obj, "obj-frame", root)
    cal = result.calibration
    assert (cal.front, cal.up) == ("-x", "+z")
    assert cal.unit_scale == 10.0
    assert cal.roles["glass"] == "lens"  # see-through in the .mtl (d 0.3)
    size = result.entry["sizes"][0]
    assert size["total_width"] == pytest.approx(140, abs=1.0)
    assert size["lens_width"] == pytest.approx(54, abs=1.0)
    assert size["bridge"] == pytest.approx(18, abs=1.0)
    assert size["lens_height"] == pytest.approx(38, abs=1.0)
    assert size["temple_length"] == pytest.approx(145, abs=8.0)  # measured along a tube: approximate
    for name in ("lens_center_left", "lens_center_right", "temple_end_left", "hinge_right"):
        assert np.allclose(result.model.anchors[name][:2], source_model.anchors[name][:2], atol=3.0), name


def test_obj_without_mtl_and_without_unit_hint(tmp_path: Path, root: Path) -> None:
    """0.53 units wide fits no unit: imported at the catalogue's median width, with a warning; the
    lens openings are found in the geometry (no .mtl says which part is glass)."""
    model = build_model(FrameSpec("oval", 50, 19, 140, 38, 132))
    obj = tmp_path / "frame.obj"
    write_obj(obj, model, np.eye(3) * 0.004, mtl=False)  # 0.53 units wide: no unit fits
    result = import_model(obj, "tiny", root)
    size = result.entry["sizes"][0]
    assert size["total_width"] == pytest.approx(catalogue_median_width(root), abs=1.0)
    assert result.messages[0].startswith("WARNING: units unknown")
    assert result.calibration.unit_basis.startswith("units unknown")
    assert any("found the two lens openings in the geometry" in n for n in result.calibration.notes)
    # The frame's proportions survive the assumed scale.
    scale = size["total_width"] / 132
    assert size["lens_width"] == pytest.approx(50 * scale, abs=1.5)
    assert size["bridge"] == pytest.approx(19 * scale, abs=1.5)
    # Told the real width, the openings give the frame's own boxing measurements.
    exact = import_model(obj, "tiny", root, width_mm=132)
    assert exact.calibration.unit_basis == "scaled to the given width 132 mm"
    for name, value in (("total_width", 132), ("lens_width", 50), ("bridge", 19), ("lens_height", 38)):
        assert exact.entry["sizes"][0][name] == pytest.approx(value, abs=1.0), name


def test_front_without_temples_asks_for_the_front(tmp_path: Path, root: Path) -> None:
    model = build_model(FrameSpec("square", 50, 20, 145, 44, 140))
    model.parts = [p for p in model.parts if p.role not in ("temple", "hinge", "pad")]
    obj = tmp_path / "front.obj"
    write_obj(obj, model, np.eye(3))
    with pytest.raises(ModelImportError, match="pass --front"):
        import_model(obj, "front-only", root)
    result = import_model(obj, "front-only", root, front="+z", up="+y")
    assert any("no left temple" in n for n in result.calibration.notes)
    assert result.model.anchors["temple_end_left"][2] < -100


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.glb", "is empty"),
        (b"\x89PNG\r\n\x1a\n" + b"0" * 100, "picture.glb", "not a readable .glb model"),
        (b"solid x\nendsolid x\n", "model.stl", "unsupported file type .stl"),
        (b"# just a comment\nv 0 0 0\n", "points.obj", "no triangle meshes"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_written(
    tmp_path: Path, root: Path, content: bytes, name: str, message: str
) -> None:
    bad = tmp_path / name
    bad.write_bytes(content)
    with pytest.raises(ModelImportError, match=message):
        import_model(bad, "bad-one", root)
    assert not (root / "imported.toml").exists()
    assert not (root / "imported").exists() or not any((root / "imported").iterdir())


def test_too_large_and_too_many_triangles_are_refused(
    data: Callable[..., Path], root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_model(data(*THUG), "thug-life", root)
    before = (root / "imported.toml").read_bytes()
    monkeypatch.setattr(importer_files, "MAX_FILE_BYTES", 1000)
    with pytest.raises(ModelImportError, match="the limit is"):
        import_model(data(*KHRONOS), "khronos", root)
    monkeypatch.setattr(importer_files, "MAX_FILE_BYTES", 50 * 1024 * 1024)
    monkeypatch.setattr(importer_files, "MAX_TRIANGLES", 5000)
    with pytest.raises(ModelImportError, match="more than 5,000 triangles"):
        import_model(data(*KHRONOS), "khronos", root)
    assert (root / "imported.toml").read_bytes() == before
    assert not (root / "imported" / "khronos").exists()


def test_bad_ids_and_axes_are_refused(data: Callable[..., Path], root: Path) -> None:
    with pytest.raises(ModelImportError, match="--id 'Bad Id'"):
        import_model(data(*THUG), "Bad Id", root)
    with pytest.raises(ModelImportError, match="must be different axes"):
        import_model(data(*THUG), "thug", root, front="+z", up="-z")


def test_reapply_after_editing_the_calibration(data: Callable[..., Path], root: Path) -> None:
    first = import_model(data(*THUG), "thug-life", root, price=25.0)
    cal_path = root / "imported" / "thug-life" / "calibration.toml"
    text = cal_path.read_text()
    assert "offset_mm = [0.0, 0.0, 0.0]" in text and "auto = true" in text
    cal_path.write_text(text.replace("offset_mm = [0.0, 0.0, 0.0]", "offset_mm = [0.0, 2.0, 0.0]"))
    again = reapply("thug-life", root)
    shift = again.model.bounds - first.model.bounds
    assert np.allclose(shift[:, 1], 2.0, atol=1e-4) and np.allclose(shift[:, [0, 2]], 0.0, atol=1e-4)
    assert again.model.anchors["bridge"][1] == pytest.approx(first.model.anchors["bridge"][1] + 2.0, abs=1e-3)
    assert again.entry["price"] == 25.0  # the entry's own edits are kept
    # Hand-set anchors are kept when auto = false.
    data = tomllib.loads(cal_path.read_text())
    edited = cal_path.read_text().replace("auto = true", "auto = false")
    edited = edited.replace(
        f"bridge = {[round(c, 3) for c in data['anchors']['bridge']]}".replace("'", ""),
        "bridge = [0.0, 9.5, 0.0]",
    )
    cal_path.write_text(edited)
    kept = reapply("thug-life", root)
    assert np.allclose(kept.model.anchors["bridge"], [0.0, 9.5, 0.0])
    cal_path.write_text(edited.replace('front = "+z"', 'front = "+q"'))
    with pytest.raises(ModelImportError, match="front/up must be"):
        reapply("thug-life", root)
    with pytest.raises(ModelImportError, match="no imported frame 'nothing'"):
        reapply("nothing", root)


def test_cli_import_and_reapply(
    data: Callable[..., Path], root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tryon.cli import main

    catalogue = str(root / "catalogue.toml")
    code = main(["frames", "import", str(data(*THUG)), "--id", "thug-life", "--catalogue", catalogue])
    out = capsys.readouterr().out
    assert code == 0 and "imported thug-life" in out and "millimetres" in out
    assert main(["frames", "import", "--reapply", "thug-life", "--catalogue", catalogue]) == 0
    assert main(["frames", "list", "--catalogue", catalogue]) == 0
    assert "thug-life" in capsys.readouterr().out
    not_a_model = root / "notes.obj"
    not_a_model.write_text("hello\n")
    assert main(["frames", "import", str(not_a_model), "--id", "notes", "--catalogue", catalogue]) == 2
    err = capsys.readouterr().err
    assert "nothing was written" in err
    assert main(["frames", "validate", "--catalogue", catalogue]) == 0
    assert trimesh.load(root / "imported" / "thug-life" / "model.glb", force="scene").geometry


def test_a_two_unit_wide_glb_imports_with_no_flags_at_the_catalogue_median_width(
    data: Callable[..., Path], root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    glb = two_unit_wide_glb(data, tmp_path)
    with caplog.at_level(logging.WARNING, logger="models3d.importer"):
        result = import_model(glb, "two-units", root)
    median = catalogue_median_width(root)
    size = result.entry["sizes"][0]
    assert size["total_width"] == pytest.approx(median, abs=1.0)
    assert any("ASSUMED the catalogue's median total width" in r.getMessage() for r in caplog.records)
    assert result.messages[0].startswith("WARNING: units unknown") and f"{median:g} mm" in result.messages[0]
    # The assumption is written into the editable calibration, with what to do about it.
    cal_path = root / "imported" / "two-units" / "calibration.toml"
    written = tomllib.loads(cal_path.read_text())
    assert written["transform"]["unit_basis"].startswith("units unknown")
    assert "set unit_scale" in written["transform"]["unit_basis"]
    assert written["transform"]["unit_scale"] == pytest.approx(median / 2.0, rel=0.01)
    # The sunglasses' proportions survive (the original: 67□10, 150 mm wide).
    assert size["lens_width"] == pytest.approx(67 * median / 150, abs=1.5)
    # Correcting unit_scale (the real frame is 150.5 mm across 2 units) and re-applying fixes the size.
    text = cal_path.read_text()
    old = f"unit_scale = {written['transform']['unit_scale']!r}"
    assert old in text
    cal_path.write_text(text.replace(old, "unit_scale = 75.25"))
    fixed = reapply("two-units", root)
    assert fixed.entry["sizes"][0]["total_width"] == pytest.approx(150, abs=1.5)
    assert fixed.entry["sizes"][0]["lens_width"] == pytest.approx(67, abs=1.5)


def test_cli_imports_a_model_of_unknown_units_with_a_warning(
    data: Callable[..., Path], root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tryon.cli import main

    glb = two_unit_wide_glb(data, tmp_path)
    assert (
        main(["frames", "import", str(glb), "--id", "two-units", "--catalogue", str(root / "catalogue.toml")])
        == 0
    )
    out = capsys.readouterr().out
    assert "WARNING: units unknown" in out and "imported two-units" in out
    assert f"total width {catalogue_median_width(root):g} mm" in out
    assert main(["frames", "validate", "--catalogue", str(root / "catalogue.toml")]) == 0


def test_a_gltf_facing_plus_x_imports_with_no_flags(
    data: Callable[..., Path], root: Path, tmp_path: Path
) -> None:
    reference = import_model(data(*THUG), "thug-life", root).entry["sizes"][0]
    for source, frame_id in ((THUG, "thug-x"), (KHRONOS, "khronos-x")):
        result = import_model(gltf_facing_plus_x(data(*source), tmp_path / frame_id), frame_id, root)
        assert (result.calibration.front, result.calibration.up) == ("+x", "+y"), frame_id
        a = result.model.anchors
        assert a["lens_center_left"][0] == pytest.approx(-a["lens_center_right"][0], abs=1.0)
        assert a["temple_end_left"][2] < -100 and a["temple_end_right"][2] < -100
        if source == THUG:
            assert result.entry["sizes"][0] == reference


def test_an_obj_without_materials_finds_its_lenses_in_the_geometry(
    data: Callable[..., Path], root: Path, tmp_path: Path
) -> None:
    """Exported without its .mtl, the Khronos model is one mesh named "LensesExterior": it used to be
    taken whole as a lens and refused ("162 mm cannot hold two 75 mm lenses")."""
    glb = import_model(data(*KHRONOS), "khronos-glb", root)
    obj = obj_without_materials(
        trimesh.load(data(*KHRONOS), force="scene"), tmp_path / "k" / "sunglasses.obj"
    )
    result = import_model(obj, "khronos-obj", root)
    assert result.calibration.roles == {
        "LensesExterior": "front",
        "LensesExterior_lens": "lens",
        "LensesExterior_temples": "temple",
    }
    assert any("found the two lens openings" in n for n in result.calibration.notes)
    for name, value in glb.entry["sizes"][0].items():
        if name != "label":  # temple length: along the temple from where it starts, approximate
            tolerance = 4.0 if name == "temple_length" else 1.5
            assert result.entry["sizes"][0][name] == pytest.approx(value, abs=tolerance), name
    again = reapply("khronos-obj", root)  # from source.glb, which keeps the split parts
    assert again.calibration.roles == result.calibration.roles
    assert again.entry["sizes"] == result.entry["sizes"]
    # The lens part is the two lenses: one piece either side of the bridge, inside the front.
    (lens,) = [p.mesh for p in result.model.parts if p.role == "lens"]
    centres = sorted(float(piece.centroid[0]) for piece in lens.split(only_watertight=False))
    assert centres[0] < -20 and centres[-1] > 20
    assert float(np.ptp(lens.vertices[:, 2])) < 35
    # A parametric catalogue frame exported the same way gives its own boxing measurements back.
    spec = FrameSpec("rectangle", 54, 18, 145, 38, 140)
    obj = obj_without_materials(parametric_scene(spec), tmp_path / "p" / "rectangle.obj")
    size = import_model(obj, "rectangle-obj", root).entry["sizes"][0]
    for name, value in (("total_width", 140), ("lens_width", 54), ("bridge", 18), ("lens_height", 38)):
        assert size[name] == pytest.approx(value, abs=1.0), name
    # `tryon frames validate` measures the written models against their entries.
    problems, summary = validate_catalogue(root / "catalogue.toml")
    assert problems == [] and summary.startswith(f"{len(load_catalogue(root / 'catalogue.toml'))} frames")


def eye_centres(image: np.ndarray) -> list[np.ndarray]:
    """The two eye centres (x, y px, left to right in the picture), found by OpenCV's Haar cascades
    in the original photo: independent of the tracker that places the glasses."""
    import cv2

    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    faces = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    x, y, w, h = max(faces.detectMultiScale(grey, 1.1, 5, minSize=(60, 60)), key=lambda r: r[2] * r[3])
    eyes = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_eye.xml")
    found = eyes.detectMultiScale(grey[y : y + h * 5 // 8, x : x + w], 1.05, 6, minSize=(w // 10, w // 10))
    assert len(found) >= 2, f"the eye cascade found {len(found)} eyes"
    two = sorted(found, key=lambda r: -r[2] * r[3])[:2]
    return sorted(
        (np.array([x + ex + ew / 2, y + ey + eh / 2]) for ex, ey, ew, eh in two), key=lambda c: c[0]
    )


def drawn_frame(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Where the frame was drawn: the pixels in which two renders in different frame colours
    differ (the photo and the lenses are the same in both)."""
    return np.abs(first.astype(np.int16) - second.astype(np.int16)).sum(axis=2) > 24


def rim_around(frame: np.ndarray, eye: np.ndarray, reach: float) -> tuple[float, float, float, float] | None:
    """``(left, right, top, bottom)`` px: the first drawn-frame pixel met going from ``eye`` left,
    right, up and down within ``reach``; ``None`` when a way is open. (Rays rather than filled holes:
    the head occluder may hide the rim's corner behind the nose.)"""
    x, y = int(round(eye[0])), int(round(eye[1]))
    ways = {
        "left": frame[y, max(x - int(reach), 0) : x][::-1],
        "right": frame[y, x : x + int(reach)],
        "up": frame[max(y - int(reach), 0) : y, x][::-1],
        "down": frame[y : y + int(reach), x],
    }
    hits = {}
    for way, line in ways.items():
        found = np.flatnonzero(line)
        if len(found) == 0:
            return None
        hits[way] = float(found[0])
    return x - hits["left"], x + hits["right"], y - hits["up"], y + hits["down"]


def misplacements(frame: np.ndarray, eyes: list[np.ndarray]) -> list[str]:
    """What is wrong with where the frame was drawn: each eye (left to right in the picture) must be
    inside a rim opening, near its middle, and the two eyes in different openings."""
    eye_gap = float(np.linalg.norm(eyes[1] - eyes[0]))
    problems = []
    spans = []
    for eye in eyes:
        rim = rim_around(frame, eye, reach=0.9 * eye_gap)
        if rim is None:
            problems.append(f"the eye at {eye.round()} is not inside a drawn rim")
            continue
        left, right, top, bottom = rim
        if right - left < 0.35 * eye_gap or bottom - top < 0.2 * eye_gap:
            problems.append(f"the eye at {eye.round()} is in a gap {rim}, not a lens opening")
        if abs(eye[0] - (left + right) / 2) > 0.3 * (right - left):
            problems.append(f"the eye at {eye.round()} is off-centre across its opening {rim}")
        if abs(eye[1] - (top + bottom) / 2) > 0.35 * (bottom - top):
            problems.append(f"the eye at {eye.round()} is off-centre up/down in its opening {rim}")
        spans.append((left, right))
    if len(spans) == 2 and spans[0][1] > spans[1][0]:
        problems.append(f"both eyes are in one opening {spans}")
    return problems


@pytest.mark.slow
def test_models_in_foreign_conventions_sit_on_the_eyes(
    data: Callable[..., Path], root: Path, tmp_path: Path
) -> None:
    """A 2-unit GLB, a glTF facing +X and OBJs without materials (the Khronos model and a parametric
    frame), imported with no flags, drawn on two photos: each eye, found by a Haar cascade in the
    original photo, is inside one of the drawn frame's two lens openings, near its middle."""
    import cv2

    from tryon.pipeline import PipelineOptions, TryOnPipeline

    sources = {
        "two-units": two_unit_wide_glb(data, tmp_path),
        "facing-x": gltf_facing_plus_x(data(*KHRONOS), tmp_path / "x"),
        "obj-khronos": obj_without_materials(
            trimesh.load(data(*KHRONOS), force="scene"), tmp_path / "k" / "k.obj"
        ),
        "obj-rectangle": obj_without_materials(
            parametric_scene(FrameSpec("rectangle", 54, 18, 145, 38, 140)), tmp_path / "p" / "p.obj"
        ),
    }
    for frame_id, source in sources.items():
        import_model(source, frame_id, root)
    cat = load_catalogue(root / "catalogue.toml")

    def frame_drawn(pipe: TryOnPipeline, frame_id: str, image: np.ndarray) -> np.ndarray:
        renders = []
        for colour in ("black", "gold"):
            pipe.set_glasses(
                configure(frame_id, colour=colour, lens="clear", catalogue=load_catalogue(catalogue))
            )
            renders.append(pipe.process(image).image)
        return drawn_frame(*renders)

    catalogue = root / "catalogue.toml"
    with TryOnPipeline(configure("two-units", catalogue=cat), PipelineOptions(running_mode="image")) as pipe:
        for photo in ("obama.jpg", "astronaut.png"):
            image = cv2.imread(str(data("faces", photo)))
            eyes = eye_centres(image)
            if np.linalg.norm(eyes[1] - eyes[0]) < 80:  # a small face: a wire rim drawn under a pixel
                image = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)  # wide has gaps
                eyes = [2 * eye for eye in eyes]
            for frame_id in sources:
                problems = misplacements(frame_drawn(pipe, frame_id, image), eyes)
                assert not problems, f"{frame_id} on {photo}: {problems}"
        # The check fails for the right reason: the same frame moved 25 mm up while its anchors stay
        # (auto = false keeps them), so it is drawn that much too high.
        cal_path = root / "imported" / "facing-x" / "calibration.toml"
        text = cal_path.read_text()
        assert "offset_mm = [0.0, 0.0, 0.0]" in text and "auto = true" in text
        moved = text.replace("offset_mm = [0.0, 0.0, 0.0]", "offset_mm = [0.0, 25.0, 0.0]")
        cal_path.write_text(moved.replace("auto = true", "auto = false"))
        reapply("facing-x", root)
        assert misplacements(frame_drawn(pipe, "facing-x", image), eyes), "a frame 25 mm too high passed"
