"""The response file: the shipped example loads; every kind of mistake is reported with
its file, line and field, all of them at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from insiderwatch.respond.config import load_config
from insiderwatch.respond.yamlfile import FileProblems

EXAMPLE = Path(__file__).parents[1] / "src/insiderwatch/respond/examples/respond.yaml"


def test_example_file_is_valid() -> None:
    config = load_config(EXAMPLE)
    assert set(config.sinks) == {"soc-webhook", "security-chat", "siem", "lake"}
    assert config.sinks["siem"].protocol == "tcp"
    book = config.playbook("harvest-critical")
    assert (book.mode, book.approvals, book.expires_after.total_seconds()) == ("approve", 2, 7200)
    assert [a.type for a in book.actions] == ["suspend", "revoke_sessions", "notify"]


BAD = """\
sinks:
  hook: {type: webhook}
  odd: {type: carrier-pigeon, url: x}
routes:
  - name: r
    min_severity: severe
    sinks: [hook]
  - name: r2
    sinks: [nowhere]
playbooks:
  - name: p
    approvals: 3
    expires_after: soon
    actions: [suspend]
"""


@pytest.mark.parametrize(
    "expected",
    [
        ":2:sinks.hook.url: Field required",
        ":3:sinks.odd.type: unknown sink type 'carrier-pigeon'",
        ":6:routes.0.min_severity: Input should be 'low', 'medium', 'high' or 'critical'",
        ":12:playbooks.0.approvals: Input should be less than or equal to 2",
        ":13:playbooks.0.expires_after: Value error, a duration such as",
    ],
)
def test_every_problem_named_with_line_and_field(tmp_path: Path, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    with pytest.raises(FileProblems) as caught:
        load_config(path)
    assert any(p.startswith(str(path)) and expected in p for p in caught.value.problems), (
        caught.value.problems
    )


def test_references_checked_once_the_shapes_are_right(tmp_path: Path) -> None:
    path = tmp_path / "refs.yaml"
    path.write_text(
        "sinks: {hook: {type: webhook, url: 'http://x'}}\n"
        "routes: [{name: r, sinks: [hook, nowhere]}]\n"
        "playbooks:\n"
        "  - name: p\n"
        "    actions: [suspend, {type: notify, sinks: [ghost]}]\n"
    )
    with pytest.raises(FileProblems) as caught:
        load_config(path)
    problems = caught.value.problems
    assert f"{path}:2:routes.0.sinks.1: no sink named 'nowhere'" in problems
    assert f"{path}:5:playbooks.0.actions.0: suspend needs a scim: target" in problems
    assert f"{path}:5:playbooks.0.actions.1: no sink named 'ghost'" in problems


def test_not_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("sinks:\n  a: [unclosed\n")
    with pytest.raises(Exception, match=rf"{path}:\d+: not valid YAML"):
        load_config(path)
