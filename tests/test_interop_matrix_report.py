"""The reports of an interop run show the scenario x pair matrix: each cell's status, and why a pair
skipped (the missing capability) or failed (the failing step and its requirements)."""

from __future__ import annotations

from harness.report import RunInfo, build_report, report_to_html, report_to_json, report_to_markdown
from harness.report.model import RunReport
from harness.requirements import load_catalog, spec_commit_of
from harness.scenarios.results import ScenarioResult, Status, StepResult

FAILED_ID = "bolt01-ping-receiver-must-02"
PAIRS = ("ldk->electrum", "electrum->ldk")


def result(target: str, status: Status, reason: str, steps: tuple[StepResult, ...]) -> ScenarioResult:
    a, b = target.split("->")
    return ScenarioResult(
        "interop_open_pay_close",
        "suites/interop/open_pay_close.yaml",
        target,
        3,
        status,
        reason,
        42.0,
        steps,
        pair=(a, b),
    )


def sample() -> RunReport:
    catalog = load_catalog()
    results = [
        result("ldk->electrum", Status.PASS, "", (StepResult(0, "pay", 9, Status.PASS, "ok", 1.0),)),
        result(
            "electrum->ldk",
            Status.FAIL,
            "step 0 ...",
            (StepResult(0, "expect_no_disconnect", 9, Status.FAIL, "connection closed", 1.0, (FAILED_ID,)),),
        ),
        ScenarioResult(
            "interop_reestablish",
            "suites/interop/reestablish.yaml",
            "electrum->ldk",
            4,
            Status.SKIP,
            "electrum: no disconnect command",
            0.0,
            (StepResult(0, "disconnect_nodes", 5, Status.NOT_RUN, "not run", 0.0),),
            pair=("electrum", "ldk"),
        ),
    ]
    info = RunInfo(
        7, PAIRS, "2026-01-01T00:00:00+00:00", 50.0, "embedded", "process", spec_commit_of(catalog)
    )
    return build_report(info, results, catalog)


def test_the_matrix_has_a_cell_per_scenario_and_pair() -> None:
    matrix = sample().interop_matrix()
    assert matrix is not None and matrix.columns == PAIRS
    rows = dict(matrix.rows)
    assert rows["interop_open_pay_close"]["ldk->electrum"].status is Status.PASS
    failed = rows["interop_open_pay_close"]["electrum->ldk"]
    assert failed.status is Status.FAIL and failed.requirements == (FAILED_ID,)
    assert "connection closed" in failed.why
    assert rows["interop_reestablish"]["electrum->ldk"].why == "electrum: no disconnect command"
    assert "ldk->electrum" not in rows["interop_reestablish"]


def test_report_md_shows_the_matrix_with_reasons() -> None:
    text = report_to_markdown(sample())
    section = text[text.index("## Interop matrix") :]
    assert "| scenario | `ldk->electrum` | `electrum->ldk` |" in section
    assert "| `interop_reestablish` |  | skip [" in section
    assert "electrum: no disconnect command" in section
    assert f"`{FAILED_ID}`" in section


def test_report_html_shows_the_matrix() -> None:
    html = report_to_html(sample())
    table = html[
        html.index('<table id="interop">') : html.index("</table>", html.index('<table id="interop">'))
    ]
    assert table.count("<tr>") == 3  # header and two scenarios
    assert 'class="st-skip"' in table and "electrum: no disconnect command" in table
    assert 'class="st-fail"' in table and FAILED_ID in table


def test_report_json_has_the_matrix_and_the_pairs() -> None:
    data = report_to_json(sample())
    assert data["interop_matrix"]["columns"] == list(PAIRS)
    cells = {row["scenario"]: row["cells"] for row in data["interop_matrix"]["rows"]}
    assert cells["interop_reestablish"]["electrum->ldk"]["status"] == "skip"
    assert {tuple(s["pair"]) for s in data["scenarios"]} == {("ldk", "electrum"), ("electrum", "ldk")}
    assert ScenarioResult.from_json(data["scenarios"][0]).pair is not None


def test_a_run_without_pairs_has_no_matrix() -> None:
    report = sample()
    plain = build_report(
        report.info,
        [
            ScenarioResult(s.scenario, s.path, s.target, s.seed, s.status, s.reason, 1.0, s.steps)
            for s in report.scenarios
        ],
        load_catalog(),
    )
    assert plain.interop_matrix() is None
    assert "Interop matrix" not in report_to_markdown(plain)
    assert "interop_matrix" not in report_to_json(plain)
