"""Launch options, per-worker ports and the regtest configuration files and command lines we generate."""

from __future__ import annotations

import argparse
import json
import socket
import urllib.request
from pathlib import Path

import pytest

from harness.launchers.feeservice import LocalFeeServer
from harness.launchers.options import (
    ChainKind,
    LauncherKind,
    LaunchOptions,
    LaunchOptionsError,
    add_arguments,
    export_for_run,
)
from harness.launchers.ports import PORTS_PER_WORKER, PortAllocator, worker_index
from harness.launchers.regtest import (
    FIXED_FEERATE_PER_KW,
    BitcoindRpc,
    ClnSettings,
    LndSettings,
    bitcoind_arguments,
    cln_arguments,
    cln_config,
    cln_rpc_path,
    fee_estimates_json,
    lnd_arguments,
    lnd_config,
    lnd_credential_paths,
    rpcauth_line,
)

DATA = Path(__file__).parent / "data" / "api_responses"
RPC = BitcoindRpc("bitcoind", 18443, "boltcheck", "s3cret")


def test_rpcauth_matches_bitcoin_cores_own_test_line() -> None:
    vector = json.loads((DATA / "bitcoind" / "rpcauth.json").read_text())
    salt = vector["rpcauth"].split(":")[1].split("$")[0]
    assert rpcauth_line(vector["user"], vector["password"], salt) == vector["rpcauth"]


def test_the_rpc_password_never_shows_in_repr() -> None:
    assert "s3cret" not in repr(RPC)


def test_options_round_trip_through_the_environment(tmp_path: Path) -> None:
    options = LaunchOptions(
        launcher=LauncherKind.DOCKER,
        chain=ChainKind.BITCOIND,
        cln_bin=tmp_path / "lightningd",
        lnd_rest="https://127.0.0.1:8080",
        lnd_macaroon=tmp_path / "admin.macaroon",
        lnd_cert=tmp_path / "tls.cert",
        keep_containers=True,
        port_seed=7,
    )
    environ: dict[str, str] = {}
    options.export(environ)
    assert LaunchOptions.from_environment(environ) == options


def test_cli_flags_become_options(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--launcher", default="process")
    parser.add_argument("--chain", default="embedded")
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--launcher",
            "process",
            "--chain",
            "bitcoind",
            "--cln-bin",
            str(tmp_path / "l"),
            "--bitcoind-bin",
            "/b",
        ]
    )
    options = LaunchOptions.from_arguments(args)
    assert (options.launcher, options.chain) == (LauncherKind.PROCESS, ChainKind.BITCOIND)
    assert (options.cln_bin, options.bitcoind_bin) == (tmp_path / "l", Path("/b"))


def test_attaching_lnd_needs_url_macaroon_and_cert() -> None:
    with pytest.raises(LaunchOptionsError, match="--lnd-macaroon"):
        LaunchOptions(lnd_rest="https://127.0.0.1:8080")


def test_a_given_endpoint_switches_that_implementation_to_attach(tmp_path: Path) -> None:
    options = LaunchOptions(launcher=LauncherKind.DOCKER, cln_rpc=tmp_path / "lightning-rpc")
    assert options.launcher_for("cln") is LauncherKind.ATTACH
    assert options.launcher_for("lnd") is LauncherKind.DOCKER


def test_a_bad_launcher_in_the_environment_names_the_variable() -> None:
    with pytest.raises(LaunchOptionsError, match="BOLTCHECK_LAUNCHER"):
        LaunchOptions.from_environment({"BOLTCHECK_LAUNCHER": "kubernetes"})


@pytest.mark.parametrize(("name", "index"), [("gw0", 0), ("gw5", 5), ("", 0), ("master", 0)])
def test_the_worker_index_comes_from_xdist(name: str, index: int) -> None:
    assert worker_index({"PYTEST_XDIST_WORKER": name}) == index


def test_workers_get_disjoint_port_blocks() -> None:
    first, second = PortAllocator(0, seed=3), PortAllocator(1, seed=3)
    assert first.end <= second.start
    ports = [first.allocate() for _ in range(5)]
    assert len(set(ports)) == 5 and all(first.start <= p < first.end for p in ports)


def test_a_bound_port_is_skipped() -> None:
    allocator = PortAllocator(7, seed=11)
    candidate = allocator._next
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", candidate))
        busy.listen()
        assert allocator.allocate() != candidate


def test_the_seed_moves_the_first_port_inside_the_block() -> None:
    assert PortAllocator(0, seed=1)._next != PortAllocator(0, seed=2)._next
    assert PortAllocator(0, seed=10**9)._next < PortAllocator(0).start + PORTS_PER_WORKER


def test_bitcoind_binds_loopback_unless_in_a_container() -> None:
    local = bitcoind_arguments(data_dir="/d", rpc_port=1, p2p_port=2, rpcauth="u:s$h")
    assert "-rpcbind=127.0.0.1" in local and "-rpcallowip=127.0.0.1" in local
    assert {"-regtest", "-txindex", "-rpcauth=u:s$h", "-rpcport=1"} <= set(local)
    container = bitcoind_arguments(data_dir="/d", rpc_port=1, p2p_port=2, rpcauth="u:s$h", bind_all=True)
    assert "-rpcbind=0.0.0.0" in container
    assert not any(arg.startswith("-rpcpassword") for arg in local + container)


def cln_settings(**changes: object) -> ClnSettings:
    base = ClnSettings(
        "/ln", "alice", "127.0.0.1", 20001, RPC, bitcoin_cli="/usr/bin/bitcoin-cli", rpc_file="/tmp/r"
    )
    return ClnSettings(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_cln_config_is_regtest_fast_and_fixed_fee() -> None:
    lines = cln_config(cln_settings()).splitlines()
    for expected in (
        "network=regtest",
        "bind-addr=127.0.0.1:20001",
        "funding-confirms=1",
        f"force-feerates={FIXED_FEERATE_PER_KW}",
        "developer",
        "dev-bitcoind-poll=1",
        "bitcoin-rpcconnect=bitcoind",
        "bitcoin-rpcport=18443",
        "bitcoin-cli=/usr/bin/bitcoin-cli",
        "rpc-file=/tmp/r",
        "disable-plugin=cln-grpc",
    ):
        assert expected in lines
    assert cln_arguments(cln_settings()) == ["--lightning-dir=/ln"]  # credentials stay in the file


def test_cln_without_developer_mode_gets_no_dev_options() -> None:
    assert not any(line.startswith("dev") for line in cln_config(cln_settings(developer=False)).splitlines())


def test_cln_rpc_socket_lives_under_the_network_dir() -> None:
    assert cln_rpc_path("/ln") == "/ln/regtest/lightning-rpc"


def lnd_settings(fee_url: str | None = "http://127.0.0.1:1/fees.json") -> LndSettings:
    return LndSettings("/lnd", "bob", "127.0.0.1", 20010, 20011, 20012, RPC, fee_url)


def test_lnd_conf_polls_bitcoind_and_takes_its_fees_from_the_fee_url() -> None:
    text = lnd_config(lnd_settings())
    sections = {block.splitlines()[0]: block.splitlines()[1:] for block in text.strip().split("\n\n")}
    assert set(sections) == {"[Application Options]", "[Bitcoin]", "[Bitcoind]", "[fee]"}
    assert "restlisten=127.0.0.1:20011" in sections["[Application Options]"]
    assert "tlsextraip=127.0.0.1" in sections["[Application Options]"]
    assert "noseedbackup=true" in sections["[Application Options]"]
    assert {"bitcoin.regtest=true", "bitcoin.node=bitcoind", "bitcoin.defaultchanconfs=1"} <= set(
        sections["[Bitcoin]"]
    )
    assert "bitcoind.rpcpolling=true" in sections["[Bitcoind]"]
    assert "bitcoind.rpchost=bitcoind:18443" in sections["[Bitcoind]"]
    assert sections["[fee]"] == ["fee.url=http://127.0.0.1:1/fees.json"]
    assert lnd_arguments(lnd_settings()) == ["--lnddir=/lnd", "--configfile=/lnd/lnd.conf"]


def test_lnd_credentials_are_where_lnd_writes_them_on_regtest() -> None:
    assert lnd_credential_paths("/lnd") == ("/lnd/tls.cert", "/lnd/data/chain/bitcoin/regtest/admin.macaroon")


def test_fee_estimates_give_every_target_the_rate_cln_is_forced_to() -> None:
    body = json.loads(fee_estimates_json())
    assert set(body) == {"fee_by_block_target", "min_relay_feerate"}
    # lnd's source is in sat/kvB; CLN's force-feerates in sat/kw: 1 kvB = 4 kw
    assert set(body["fee_by_block_target"].values()) == {FIXED_FEERATE_PER_KW * 4}


def test_the_local_fee_server_serves_the_estimates_on_loopback() -> None:
    server = LocalFeeServer()
    try:
        url = server.start()
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.read() == fee_estimates_json()
    finally:
        server.close()


def test_a_run_merges_its_launcher_and_flags_over_the_environment(tmp_path: Path) -> None:
    environ = {"BOLTCHECK_CLN_BIN": str(tmp_path / "lightningd"), "BOLTCHECK_LAUNCHER": "process"}
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--bitcoind-bin", str(tmp_path / "bitcoind")])
    merged = export_for_run("docker", "bitcoind", args, environ)
    assert (merged.launcher, merged.chain) == (LauncherKind.DOCKER, ChainKind.BITCOIND)
    assert (merged.cln_bin, merged.bitcoind_bin) == (tmp_path / "lightningd", tmp_path / "bitcoind")
    assert LaunchOptions.from_environment(environ) == merged
