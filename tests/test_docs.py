"""The reference docs are generated from the code; fail when they are stale."""

from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from insiderwatch.contract import TABLES
from insiderwatch.docgen import GENERATORS, render, stale
from insiderwatch.settings import SETTINGS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def generated_once(monkeypatch_module) -> Iterator[None]:
    """Each generator runs once for the module: a section is a function of the code alone
    (the CLI reference alone invokes every command's ``--help``), and both the staleness
    check and the rendering checks below ask for every section."""
    for rel, sections in GENERATORS.items():
        monkeypatch_module.setitem(
            GENERATORS, rel, {name: cache(make) for name, make in sections.items()}
        )
    yield


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_generated_docs_are_current():
    assert stale(ROOT) == [], "run `python tools/gen_docs.py` and commit the result"


@pytest.mark.parametrize("rel", sorted(GENERATORS))
def test_render_keeps_hand_written_text(rel):
    path = ROOT / rel
    rendered = render(path, GENERATORS[rel])
    # Text outside the markers is left alone.
    head = path.read_text().split("<!-- generated:")[0]
    assert rendered.startswith(head)


def test_every_setting_and_column_is_documented():
    settings_doc = (ROOT / "docs/settings.md").read_text()
    for setting in SETTINGS:
        assert f"`{setting.name}`" in settings_doc
        assert setting.env_var in settings_doc
    contract_doc = (ROOT / "docs/contract.md").read_text()
    for spec in TABLES.values():
        assert f"### `{spec.name}`" in contract_doc
        for col in spec.columns:
            assert f"| {col.name} |" in contract_doc


def test_missing_markers_are_an_error(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# no markers here\n")
    with pytest.raises(ValueError, match="missing"):
        render(page, {"tables": lambda: "x"})


def test_no_merge_conflict_is_left_in_the_docs():
    # A merge that kept both sides once landed both `web/` rows and `<<<<<<<` in the docs.
    markers = ("<<<<<<< ", "=======\n", ">>>>>>> ")
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    left = [
        f"{page.relative_to(ROOT)}:{n}"
        for page in pages
        for n, line in enumerate(page.read_text().splitlines(keepends=True), 1)
        if line.startswith(markers)
    ]
    assert left == []
