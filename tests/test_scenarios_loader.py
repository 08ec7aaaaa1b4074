"""The scenario loader: valid files load; every kind of mistake is reported as FILE:LINE: message."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.paths import suites_dir
from harness.requirements import load_catalog
from harness.scenarios import ScenarioError, load_scenario, scenario_files

CATALOG = load_catalog()

VALID = """\
name: sample
description: a ping gets a pong
nodes:
  peer:
    implementation: scripted
  target:
    implementation: ${target}
requirements:
  - bolt01-ping-receiver-must-01
steps:
  - connect: {peer: peer, to: target}
  - send:
      peer: peer
      message: ping
      fields: {num_pong_bytes: 4}
  - expect:
      peer: peer
      message: pong
      fields: {ignored: {zeros: 4}}
    evidences: [bolt01-ping-receiver-must-01]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def load_error(tmp_path: Path, text: str) -> ScenarioError:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, CATALOG)
    assert str(caught.value).startswith(f"{path}:{caught.value.line}: ")
    return caught.value


def test_a_valid_scenario_loads_with_its_steps_and_evidence(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, VALID), CATALOG)
    assert [call.name for call in scenario.steps] == ["connect", "send", "expect"]
    assert scenario.steps[2].evidences == ("bolt01-ping-receiver-must-01",)
    assert scenario.steps[2].line == 16
    assert scenario.nodes["target"].is_target


def test_field_values_expand_zeros(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, VALID), CATALOG)
    assert scenario.steps[2].step.fields == {"ignored": "00000000"}  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", scenario_files(suites_dir()), ids=lambda p: p.name)
def test_every_committed_scenario_loads(path: Path) -> None:
    assert load_scenario(path, CATALOG).steps


def test_unknown_step_names_its_line_and_a_suggestion(tmp_path: Path) -> None:
    error = load_error(tmp_path, VALID.replace("  - send:\n", "  - sendd:\n"))
    assert error.line == 12
    assert "unknown step 'sendd'" in error.detail and "did you mean 'send'" in error.detail


def test_unknown_step_argument_is_rejected(tmp_path: Path) -> None:
    error = load_error(tmp_path, VALID.replace("message: ping", "message: ping\n      colour: red"))
    assert error.line == 15
    assert "unknown field 'colour' in step 'send'" in error.detail


def test_unknown_top_level_field_is_rejected(tmp_path: Path) -> None:
    error = load_error(tmp_path, VALID + "stepz: []\n")
    assert error.line == 21
    assert "unknown field 'stepz'" in error.detail


def test_unknown_node_field_is_rejected(tmp_path: Path) -> None:
    error = load_error(
        tmp_path, VALID.replace("implementation: scripted", "implementation: scripted\n    colour: 1")
    )
    assert error.line == 6
    assert "unknown field 'colour' in node 'peer'" in error.detail


def test_bad_argument_type_is_rejected(tmp_path: Path) -> None:
    error = load_error(
        tmp_path, VALID.replace("{peer: peer, to: target}", "{peer: peer, to: target, timeout_s: soon}")
    )
    assert error.line == 11
    assert "connect.timeout_s: expected a positive number, got 'soon'" in error.detail


def test_bad_message_field_value_is_rejected(tmp_path: Path) -> None:
    error = load_error(tmp_path, VALID.replace("num_pong_bytes: 4", "num_pong_bytes: 70000"))
    assert error.line == 13
    assert "bad fields for 'ping'" in error.detail and "num_pong_bytes" in error.detail


def test_unknown_message_name_is_rejected(tmp_path: Path) -> None:
    error = load_error(tmp_path, VALID.replace("message: pong", "message: pongg"))
    assert "unknown message 'pongg'" in error.detail


def test_bad_hex_is_rejected(tmp_path: Path) -> None:
    text = VALID.replace("  - send:\n", "  - send_raw: {peer: peer, hex: 'zz'}\n  - send:\n")
    error = load_error(tmp_path, text)
    assert error.line == 12
    assert "send_raw.hex: not a hex string" in error.detail


def test_unknown_requirement_id_is_rejected(tmp_path: Path) -> None:
    error = load_error(
        tmp_path, VALID.replace("[bolt01-ping-receiver-must-01]", "[bolt01-ping-receiver-must-99]")
    )
    assert error.line == 20
    assert "unknown requirement id 'bolt01-ping-receiver-must-99'" in error.detail


def test_unknown_node_name_is_rejected(tmp_path: Path) -> None:
    error = load_error(tmp_path, VALID.replace("{peer: peer, to: target}", "{peer: peer, to: targte}"))
    assert error.line == 11
    assert "unknown node 'targte'" in error.detail and "did you mean 'target'" in error.detail


def test_a_driven_node_cannot_act_as_scripted_peer(tmp_path: Path) -> None:
    error = load_error(
        tmp_path,
        VALID.replace("      peer: peer\n      message: ping", "      peer: target\n      message: ping"),
    )
    assert "node 'target' is not a scripted peer" in error.detail


def test_unknown_implementation_is_rejected(tmp_path: Path) -> None:
    error = load_error(tmp_path, VALID.replace("implementation: scripted", "implementation: eclair"))
    assert error.line == 5
    assert "unknown implementation 'eclair'" in error.detail


def test_listed_requirement_without_evidence_is_rejected(tmp_path: Path) -> None:
    text = VALID.replace(
        "  - bolt01-ping-receiver-must-01\n",
        "  - bolt01-ping-receiver-must-01\n  - bolt01-ping-receiver-must-02\n",
    )
    error = load_error(tmp_path, text)
    assert error.line == 10
    assert "listed but no step evidences it" in error.detail


def test_evidence_not_listed_in_requirements_is_rejected(tmp_path: Path) -> None:
    text = VALID.replace(
        "[bolt01-ping-receiver-must-01]", "[bolt01-ping-receiver-must-01, bolt01-ping-receiver-must-02]"
    )
    error = load_error(tmp_path, text)
    assert "which the scenario's requirements do not list" in error.detail


def test_a_step_with_two_step_names_is_rejected(tmp_path: Path) -> None:
    error = load_error(
        tmp_path,
        VALID.replace(
            "  - connect: {peer: peer, to: target}",
            "  - connect: {peer: peer, to: target}\n    expect_disconnect: {peer: peer}",
        ),
    )
    assert error.line == 11
    assert "exactly one step" in error.detail


def test_invalid_yaml_names_its_line(tmp_path: Path) -> None:
    error = load_error(
        tmp_path,
        VALID.replace("  - connect: {peer: peer, to: target}", "  - connect: {peer: peer, to: target"),
    )
    assert "invalid YAML" in error.detail


def test_every_registered_step_is_documented_in_the_suites_readme() -> None:
    from harness.scenarios import step_names

    readme = (suites_dir() / "README.md").read_text()
    assert [name for name in step_names() if f"`{name}`" not in readme] == []


def test_unknown_option_of_a_scripted_node_is_rejected(tmp_path: Path) -> None:
    option = "implementation: scripted\n    options: {featurez: '02'}"
    text = VALID.replace("implementation: scripted", option)
    error = load_error(tmp_path, text)
    assert error.line == 6
    assert "unknown field 'featurez' in options of node 'peer' (scripted)" in error.detail
    assert "did you mean 'features'?" in error.detail
