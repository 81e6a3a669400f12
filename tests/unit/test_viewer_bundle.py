"""The committed viewer bundle was built from the committed source (``build.sh`` records both
hashes in ``frontend/dist/SOURCE_SHA256``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

VIEWER = Path(__file__).resolve().parents[2] / "core" / "ui" / "components" / "viewer"


def _source_hash_module():
    spec = importlib.util.spec_from_file_location("viewer_source_hash", VIEWER / "source_hash.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recorded_hashes_match_the_source_and_the_bundle():
    module = _source_hash_module()
    recorded = (VIEWER / "frontend" / "dist" / "SOURCE_SHA256").read_text()
    assert recorded == module.record(), "rebuild the viewer: core/ui/components/viewer/build.sh"


def test_source_hash_changes_with_any_source_file(tmp_path):
    module = _source_hash_module()
    (tmp_path / "src").mkdir()
    (tmp_path / "package.json").write_text("{}")
    (tmp_path / "src" / "a.ts").write_text("export const a = 1;\n")
    before = module.source_sha(tmp_path)
    (tmp_path / "src" / "a.ts").write_text("export const a = 2;\n")
    assert module.source_sha(tmp_path) != before


def test_bundle_is_served_from_dist():
    html = (VIEWER / "frontend" / "dist" / "index.html").read_text()
    assert 'src="./viewer.js"' in html and (VIEWER / "frontend" / "dist" / "viewer.js").stat().st_size > 1000
