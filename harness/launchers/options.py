"""How cln and lnd are launched for a run: `LaunchOptions`, from the CLI, pytest options or the environment.

The environment (`BOLTCHECK_*` variables) is the one channel that reaches every pytest-xdist worker and the
driver factories (which only see a `NodeSetup`), so the CLI and the pytest plugin both write these options
there with `LaunchOptions.export()`, and factories read them back with `LaunchOptions.from_environment()`.

    boltcheck run --target cln --launcher process --cln-bin PATH --bitcoind-bin PATH
    boltcheck run --target lnd --launcher docker
    boltcheck run --target cln --cln-rpc ~/.lightning/regtest/lightning-rpc --bitcoind-rpc URL   (attach)
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, fields
from enum import Enum
from pathlib import Path


class LaunchOptionsError(ValueError):
    """Launch options that contradict each other or name something missing."""


class LauncherKind(Enum):
    PROCESS = "process"
    DOCKER = "docker"
    ATTACH = "attach"


class ChainKind(Enum):
    EMBEDDED = "embedded"  # `boltcheck chain` (bitcoind-compatible RPC over the embedded chain)
    BITCOIND = "bitcoind"  # a real bitcoind: a process, a container, or attached with --bitcoind-rpc


# Every option, its environment variable and its CLI flag (`None`: not a CLI flag of its own).
_ENV = {
    "launcher": "BOLTCHECK_LAUNCHER",
    "chain": "BOLTCHECK_CHAIN",
    "cln_bin": "BOLTCHECK_CLN_BIN",
    "lnd_bin": "BOLTCHECK_LND_BIN",
    "bitcoind_bin": "BOLTCHECK_BITCOIND_BIN",
    "cln_rpc": "BOLTCHECK_CLN_RPC",
    "lnd_rest": "BOLTCHECK_LND_REST",
    "lnd_macaroon": "BOLTCHECK_LND_MACAROON",
    "lnd_cert": "BOLTCHECK_LND_CERT",
    "bitcoind_rpc": "BOLTCHECK_BITCOIND_RPC",
    "keep_containers": "BOLTCHECK_KEEP_CONTAINERS",
    "port_seed": "BOLTCHECK_PORT_SEED",
}


@dataclass(frozen=True)
class LaunchOptions:
    launcher: LauncherKind = LauncherKind.PROCESS
    chain: ChainKind = ChainKind.EMBEDDED
    cln_bin: Path | None = None
    lnd_bin: Path | None = None
    bitcoind_bin: Path | None = None
    # attach to nodes that are already running (the harness neither starts nor stops them)
    cln_rpc: Path | None = None
    lnd_rest: str | None = None
    lnd_macaroon: Path | None = None
    lnd_cert: Path | None = None
    bitcoind_rpc: str | None = None  # http://user:password@host:port of the chain attached nodes use
    keep_containers: bool = False  # leave containers and the network for debugging (never by default)
    port_seed: int = 0

    def __post_init__(self) -> None:
        lnd_attach = (self.lnd_rest, self.lnd_macaroon, self.lnd_cert)
        if any(lnd_attach) and not all(lnd_attach):
            raise LaunchOptionsError("attaching to lnd needs --lnd-rest, --lnd-macaroon and --lnd-cert")

    def attaches(self, implementation: str) -> bool:
        """True when `implementation` is reached at a given endpoint instead of being launched."""
        if implementation == "cln":
            return self.cln_rpc is not None
        if implementation == "lnd":
            return self.lnd_rest is not None
        return False

    def launcher_for(self, implementation: str) -> LauncherKind:
        return LauncherKind.ATTACH if self.attaches(implementation) else self.launcher

    # ----- environment (the channel to factories and xdist workers)
    def export(self, environ: MutableMapping[str, str] | None = None) -> None:
        target = os.environ if environ is None else environ
        for name, variable in _ENV.items():
            value = getattr(self, name)
            if value is None:
                target.pop(variable, None)
            elif isinstance(value, Enum):
                target[variable] = str(value.value)
            elif isinstance(value, bool):
                target[variable] = "1" if value else "0"
            else:
                target[variable] = str(value)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> LaunchOptions:
        source = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for item in fields(cls):
            raw = source.get(_ENV[item.name])
            if raw is None or raw == "":
                continue
            values[item.name] = _parse(item.name, raw)
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def from_arguments(cls, args: argparse.Namespace) -> LaunchOptions:
        values: dict[str, object] = {}
        for item in fields(cls):
            raw = getattr(args, item.name, None)
            if raw is None:
                continue
            values[item.name] = _parse(item.name, raw) if isinstance(raw, str) else raw
        return cls(**values)  # type: ignore[arg-type]


def _parse(name: str, raw: str) -> object:
    try:
        if name == "launcher":
            return LauncherKind(raw)
        if name == "chain":
            return ChainKind(raw)
        if name in ("keep_containers",):
            return raw.lower() in ("1", "true", "yes")
        if name == "port_seed":
            return int(raw)
    except ValueError as exc:
        raise LaunchOptionsError(f"{_ENV[name]}={raw!r}: {exc}") from exc
    if name in ("lnd_rest", "bitcoind_rpc"):
        return raw
    return Path(raw).expanduser()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The launch flags of `boltcheck run` (the harness's run command calls this)."""
    group = parser.add_argument_group("cln / lnd launch")
    group.add_argument("--cln-bin", type=Path, default=None, help="lightningd binary (default: PATH)")
    group.add_argument("--lnd-bin", type=Path, default=None, help="lnd binary (default: PATH)")
    group.add_argument("--bitcoind-bin", type=Path, default=None, help="bitcoind binary (default: PATH)")
    group.add_argument("--cln-rpc", type=Path, default=None, help="attach: lightningd's lightning-rpc")
    group.add_argument(
        "--lnd-rest", default=None, help="attach: a running lnd's REST URL (https://host:port)"
    )
    group.add_argument("--lnd-macaroon", type=Path, default=None, help="attach: lnd admin.macaroon")
    group.add_argument("--lnd-cert", type=Path, default=None, help="attach: lnd tls.cert")
    group.add_argument("--bitcoind-rpc", default=None, help="attach: their bitcoind RPC URL")
    group.add_argument(
        "--keep-containers", action="store_true", default=None, help="docker: leave containers for debugging"
    )


def export_for_run(
    launcher: str,
    chain: str,
    args: argparse.Namespace | None = None,
    environ: MutableMapping[str, str] | None = None,
) -> LaunchOptions:
    """Merge the run's --launcher / --chain and the launch flags (when `args` has them) over what the
    environment already says, and export the result, so every driver factory and xdist worker sees it.

    `boltcheck run` calls it before pytest.main; the pytest plugin's pytest_configure calls it with its
    --boltcheck-launcher / --boltcheck-chain values (args=None keeps flags given as BOLTCHECK_* variables)."""
    target = os.environ if environ is None else environ
    current = LaunchOptions.from_environment(target)
    given = (
        {}
        if args is None
        else {k: v for k, v in vars(LaunchOptions.from_arguments(args)).items() if v is not None}
    )
    base = {item.name: getattr(current, item.name) for item in fields(LaunchOptions)}
    for name in ("launcher", "chain"):
        given.pop(name, None)  # the defaults of from_arguments must not override the run's own values
    merged = LaunchOptions(
        **{**base, **_explicit(given), "launcher": LauncherKind(launcher), "chain": ChainKind(chain)}
    )
    merged.export(target)
    return merged


def _explicit(values: Mapping[str, object]) -> dict[str, object]:
    defaults = LaunchOptions()
    return {name: value for name, value in values.items() if value != getattr(defaults, name)}
