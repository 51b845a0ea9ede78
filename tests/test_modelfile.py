"""Face model resolution: explicit path, environment, cache, download, verification."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tryon import modelfile
from tryon.cli import main
from tryon.modelfile import MODEL_SIZE, ModelError, resolve_model


def test_explicit_path_is_verified(face_model: Path) -> None:
    assert resolve_model(face_model) == face_model


def test_environment_variable(face_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYON_FACE_MODEL", str(face_model))
    assert resolve_model() == face_model


def test_cache_directory_is_used(face_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRYON_FACE_MODEL", raising=False)
    monkeypatch.setenv("TRYON_CACHE_DIR", str(tmp_path))
    (tmp_path / "face_landmarker.task").write_bytes(face_model.read_bytes())
    assert resolve_model() == tmp_path / "face_landmarker.task"


def test_wrong_size_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "face_landmarker.task"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not the expected 3,758,596"):
        resolve_model(bad)


def test_wrong_hash_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "face_landmarker.task"
    bad.write_bytes(b"\0" * MODEL_SIZE)
    with pytest.raises(ModelError, match="SHA-256"):
        resolve_model(bad)


def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TRYON_FACE_MODEL", raising=False)
    monkeypatch.setenv("TRYON_CACHE_DIR", str(tmp_path / "cache"))

    def no_network(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)


def test_offline_without_model_explains_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _offline(monkeypatch, tmp_path)
    with pytest.raises(ModelError) as info:
        resolve_model()
    message = str(info.value)
    assert "\n" not in message  # one paragraph
    for needed in (modelfile.MODEL_URL, "TRYON_FACE_MODEL", "--face-model", modelfile.MODEL_SHA256):
        assert needed in message
    assert not (tmp_path / "cache" / "face_landmarker.task").exists()


def test_offline_cli_prints_one_line_not_a_traceback(
    shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    _offline(monkeypatch, tmp_path)
    code = main(["render", str(shared / "faces" / "astronaut.png"), "-o", str(tmp_path / "out.png")])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert err.count("\n") == 1 and "TRYON_FACE_MODEL" in err
