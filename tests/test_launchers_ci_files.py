"""The files users copy (ci/) agree with the launchers: same pinned images, loopback-only ports, the same
fixed fee rate and a working rpcauth line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from harness.launchers.docker import IMAGES
from harness.launchers.regtest import FIXED_FEERATE_PER_KW, fee_estimates_json, rpcauth_line

CI = Path(__file__).parents[1] / "ci"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CI / "docker-compose.yml").read_text())
    return data


def test_compose_uses_the_launchers_pinned_images() -> None:
    images = {name: service["image"] for name, service in compose()["services"].items()}
    assert images == {
        "bitcoind": IMAGES["bitcoind"],
        "fees": IMAGES["fees"],
        "cln": IMAGES["cln"],
        "lnd": IMAGES["lnd"],
    }


def test_compose_publishes_ports_on_loopback_only() -> None:
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_compose_rpcauth_is_the_documented_local_credential() -> None:
    (line,) = [a for a in compose()["services"]["bitcoind"]["command"] if a.startswith("-rpcauth=")]
    user_salt_hash = line.removeprefix("-rpcauth=").replace("$$", "$")  # compose escapes $ as $$
    salt = user_salt_hash.split(":")[1].split("$")[0]
    assert user_salt_hash == rpcauth_line("boltcheck", "boltcheck", salt)


def test_compose_forces_the_same_feerate_on_cln_and_lnd() -> None:
    services = compose()["services"]
    assert f"--force-feerates={FIXED_FEERATE_PER_KW}" in services["cln"]["command"]
    assert "--fee.url=http://fees:8000/fees.json" in services["lnd"]["command"]
    assert json.loads((CI / "fees.json").read_text()) == json.loads(fee_estimates_json())


def test_the_workflow_runs_the_interop_matrix_and_uploads_reports() -> None:
    workflow = yaml.safe_load((CI / "github" / "conformance.yml").read_text())
    job = workflow["jobs"]["interop"]
    assert [entry["name"] for entry in job["strategy"]["matrix"]["include"]] == [
        "reference x cln",
        "reference x lnd",
        "cln x lnd",
    ]
    uses = [step.get("uses", "") for step in job["steps"]]
    assert uses.count("actions/upload-artifact@v4") == 2
    assert workflow["env"]["BOLTCHECK_LAUNCHER"] == "docker"
