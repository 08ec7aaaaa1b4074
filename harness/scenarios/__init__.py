"""Scenarios: the YAML format, its loader and validator, the step registry, and the executor.

Public API: `load_scenario(path, catalog)` -> `Scenario` (raises `ScenarioError` with FILE:LINE),
`scenario_files(root)`, `run_scenario(scenario, RunSettings)` -> `ScenarioResult`, `Status`,
`register_step` / `Step` (see harness/scenarios/step.py) for new steps under harness/scenarios/steps/.
"""

from harness.scenarios.executor import RunSettings, run_scenario, scenario_seed
from harness.scenarios.loader import ScenarioError, load_scenario, scenario_files
from harness.scenarios.model import Scenario, StepCall
from harness.scenarios.registry import register_step, step_names
from harness.scenarios.results import ScenarioResult, Status, StepResult
from harness.scenarios.step import Step, StepContext

__all__ = [
    "RunSettings",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "Status",
    "Step",
    "StepCall",
    "StepContext",
    "StepResult",
    "load_scenario",
    "register_step",
    "run_scenario",
    "scenario_files",
    "scenario_seed",
    "step_names",
]
