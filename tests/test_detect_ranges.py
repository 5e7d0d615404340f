"""Every numeric detection setting has a declared range, checked once when the detection
configuration loads, with an error naming the file, the setting and the range."""

from __future__ import annotations

import msgspec
import msgspec.inspect as mi
import pytest
from typer.testing import CliRunner

from insiderwatch.cli import app
from insiderwatch.detect import DetectionConfig, load_detection_config
from insiderwatch.detect.base import DETECTORS
from insiderwatch.detect.ranges import describe, numeric_types, unbounded
from insiderwatch.errors import ConfigError


def _load(tmp_path, text: str):
    path = tmp_path / "detection.toml"
    path.write_text(text)
    return path, lambda: load_detection_config(path)


# One case per kind of range: (TOML, the setting named, the range it must give).
RANGES = [
    ("[detectors.departing]\npeer_quantile = 2", "detectors.departing.peer_quantile", "in (0, 1]"),
    ("[detectors.departing]\npeer_quantile = 0", "detectors.departing.peer_quantile", "in (0, 1]"),
    ("[detectors.departing]\nmad_k = -1", "detectors.departing.mad_k", ">= 0"),
    ("[detectors.departing]\nmin_customers = -3", "detectors.departing.min_customers", ">= 0"),
    ("[detectors.departing]\nwindow_days = 0", "detectors.departing.window_days", ">= 1"),
    ("[detectors.volume]\npoints = -12", "detectors.volume.points", ">= 0"),
    ("[detectors.volume]\nlevels = [1, 0]", "detectors.volume.levels[1]", "> 0"),
    ("[detectors.own_copies]\nmin_share = 1.5", "detectors.own_copies.min_share", "in [0, 1]"),
    ("[detectors.vip]\nfull_weight_tail = 1", "detectors.vip.full_weight_tail", "in (0, 1)"),
    ("[detectors.shared_harvest]\nmin_lift = 0", "detectors.shared_harvest.min_lift", "> 0"),
    ("[risk]\nalert_score = 150", "risk.alert_score", "in [0, 100]"),
    ("[routine]\nmachine_min_hours = 25", "routine.machine_min_hours", "in [1, 24]"),
    ("[book.relationship]\nkeeper_share = -0.1", "book.relationship.keeper_share", "in [0, 1]"),
    ("baseline_days = 0", "baseline_days", ">= 1"),
]


@pytest.mark.parametrize(("toml", "setting", "allowed"), RANGES)
def test_a_setting_outside_its_range_is_an_error_naming_file_setting_and_range(
    tmp_path, toml, setting, allowed
):
    path, load = _load(tmp_path, toml)
    with pytest.raises(ConfigError) as caught:
        load()
    message = str(caught.value)
    assert message.startswith(f"{path}:{setting}: ")
    assert message.endswith(f"it must be {allowed}")


def test_values_at_the_edges_of_their_ranges_load(tmp_path):
    _, load = _load(
        tmp_path,
        "[detectors.departing]\npeer_quantile = 1\nmin_customers = 0\nmad_k = 0\n"
        "[detectors.case_mismatch]\nfield_set_quantile = 1.0\n[risk]\nalert_score = 100\n",
    )
    cfg = load()
    assert cfg.detectors["departing"]["peer_quantile"] == 1


def test_a_reviewed_flows_hour_is_an_hour_of_the_day(tmp_path):
    (tmp_path / "routine.yaml").write_text(
        "flows:\n- {group: a, app: b, action: view, max_records: 3, hours: [9, 24]}\n"
    )
    path, load = _load(tmp_path, '[routine]\npolicy_file = "routine.yaml"\n')
    with pytest.raises(
        ConfigError, match=r"routine.yaml:flows\[0\].hours\[1\]: 24 .* in \[0, 23\]"
    ):
        load()


def test_a_disabled_detectors_or_a_rules_settings_are_not_read(tmp_path):
    _, load = _load(
        tmp_path,
        'disabled = ["departing"]\n[detectors.departing]\npeer_quantile = 2\n'
        '[detectors."rule:some-rule"]\npeer_quantile = 2\n',
    )
    assert load().disabled == ["departing"]


@pytest.mark.parametrize(
    "text, field",
    [
        ("[detectors.departng]\npeer_quantile = 0.9", "detectors.departng"),
        ('disabled = ["vip", "volumee"]', r"disabled\[1\]"),
    ],
)
def test_a_misspelt_detector_id_is_named_with_the_known_ones(tmp_path, text, field):
    path, load = _load(tmp_path, text)
    with pytest.raises(ConfigError, match=rf"^{path}:{field}: no detector is called .*departing"):
        load()


def test_a_wrong_type_still_names_the_detector(tmp_path):
    path, load = _load(tmp_path, '[detectors.departing]\nmad_k = "three"')
    with pytest.raises(ConfigError, match=rf"^{path}:detectors.departing.mad_k: Expected `float`"):
        load()


def test_the_cli_says_which_setting_without_a_traceback(tmp_path):
    path, _ = _load(tmp_path, "[detectors.departing]\npeer_quantile = 2")
    result = CliRunner().invoke(
        app, ["detect", "--db", str(tmp_path / "s.duckdb"), "--rules-config", str(path)]
    )
    assert result.exit_code == 1
    said = "".join(result.output.split())  # the console wraps a long path anywhere
    assert "detectors.departing.peer_quantile" in said
    assert "in(0,1]" in said
    assert "Traceback" not in result.output


# One setting against another: (TOML, the table named, what it says of the pair).
ORDERS = [
    ("[detectors.vip]\nfull_weight_tail = 0.2", "detectors.vip",
     "full_weight_tail (0.2) must be below routine_tail (0.1)"),
    ("[detectors.vip]\nroutine_tail = 0.01", "detectors.vip",
     "full_weight_tail (0.01) must be below routine_tail (0.01)"),
    ("[risk]\nrearm_score = 60", "risk", "rearm_score (60) must be at most alert_score (50)"),
    ("[risk]\nalert_score = 10", "risk", "rearm_score (20) must be at most alert_score (10)"),
]  # fmt: skip


@pytest.mark.parametrize(("toml", "table", "said"), ORDERS)
def test_settings_out_of_order_are_an_error_naming_file_and_both(tmp_path, toml, table, said):
    path, load = _load(tmp_path, toml)
    with pytest.raises(ConfigError) as caught:
        load()
    assert str(caught.value).startswith(f"{path}:{table}: {said}: ")


def test_settings_in_order_load(tmp_path):
    _, load = _load(
        tmp_path,
        "[detectors.vip]\nfull_weight_tail = 0.05\nroutine_tail = 0.2\n"
        "[risk]\nalert_score = 40\nrearm_score = 40\n",  # no hysteresis: allowed
    )
    cfg = load()
    assert (cfg.risk.alert_score, cfg.risk.rearm_score) == (40, 40)


@pytest.mark.parametrize(("toml", "table", "said"), ORDERS[::2])
def test_the_cli_names_both_settings_out_of_order_without_a_traceback(tmp_path, toml, table, said):
    path, _ = _load(tmp_path, toml)
    result = CliRunner().invoke(
        app, ["detect", "--db", str(tmp_path / "s.duckdb"), "--rules-config", str(path)]
    )
    assert result.exit_code == 1
    said_flat = "".join(result.output.split())  # the console wraps a long path anywhere
    assert f"{path}:{table}:".replace(" ", "") in said_flat
    assert "".join(said.split()) in said_flat
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", [name for name, _ in DETECTORS])
def test_every_numeric_setting_of_every_detector_declares_a_range(name):
    settings = numeric_types(mi.type_info(DETECTORS.get(name).Config))
    assert settings, f"{name} has no numeric setting: is numeric_types blind to its types?"
    assert [path for path, t in settings if unbounded(t)] == []
    defaults = msgspec.to_builtins(DETECTORS.get(name).Config())
    msgspec.convert(defaults, DETECTORS.get(name).Config)  # its defaults are in range


def test_every_numeric_setting_of_the_detection_configuration_declares_a_range():
    settings = numeric_types(mi.type_info(DetectionConfig))
    assert any(path == "book.relationship.keeper_share" for path, _ in settings)
    assert [path for path, t in settings if unbounded(t)] == []
    msgspec.convert(msgspec.to_builtins(DetectionConfig()), DetectionConfig)


def test_describe_words_each_kind_of_bound():
    assert describe(mi.FloatType(gt=0, le=1)) == "in (0, 1]"
    assert describe(mi.IntType(ge=1)) == ">= 1"
    assert describe(mi.FloatType(lt=1)) == "< 1"
    assert describe(mi.IntType()) == ""
