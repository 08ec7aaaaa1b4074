"""One launch session per scenario run: the chain its cln/lnd nodes share, the nodes, and their cleanup.

The driver registry calls `cln_driver_factory` / `lnd_driver_factory` with a NodeSetup; the nodes of one
scenario share `setup.workdir.parent`, which keys their session. Scenarios run one after another in a
process (pytest-xdist runs one process per worker), so opening a session closes the previous ones (their
nodes were stopped by the executor; their chain, containers and network go now); the last is closed at
exit, also after Ctrl-C or SIGTERM.

The chain starts when the first node starts (in `driver.start()`, not in the factory), so a scenario
that is skipped for a missing binary never starts one. Step authors get it with `chain_for(workdir)`:
the same ChainBackend interface on bitcoind or on the embedded chain.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import threading
from dataclasses import replace
from pathlib import Path
from types import FrameType

from harness.chain.backend import ChainBackend
from harness.drivers.base import NodeDriver, UnsupportedOperation
from harness.drivers.registry import NodeSetup
from harness.launchers.attach import cln_attached_driver, lnd_attached_driver
from harness.launchers.chain import ChainService, attached_chain, served_embedded_chain
from harness.launchers.docker import (
    DockerRun,
    cln_docker_driver,
    docker_client,
    lnd_docker_driver,
    new_run_id,
)
from harness.launchers.feeservice import LocalFeeServer
from harness.launchers.options import ChainKind, LauncherKind, LaunchOptions
from harness.launchers.ports import PortAllocator, worker_index
from harness.launchers.process import (
    cln_process_driver,
    find_binary,
    find_bitcoin_cli,
    lnd_process_driver,
    start_bitcoind,
    start_embedded_chain,
    stop_all_processes,
)


class LaunchSession:
    def __init__(self, scenario_dir: Path, options: LaunchOptions) -> None:
        self.scenario_dir = scenario_dir
        self.options = options
        # the run's controller pid (xdist workers share it) shifts the ports of concurrent runs apart
        self.ports = PortAllocator.for_this_worker(options.port_seed or os.getppid())
        self._chain: ChainService | None = None
        self._chain_lock = threading.Lock()
        self._fees = LocalFeeServer()
        self._docker: DockerRun | None = None
        self.closed = False

    # ----- the chain
    @property
    def chain(self) -> ChainBackend | None:
        """The chain the session's nodes use, once a node has started (None before, or when attached
        nodes were given no --bitcoind-rpc)."""
        return None if self._chain is None else self._chain.backend

    def chain_service(self) -> ChainService:
        """Start the chain on first use (blocking: called in a thread by node starts)."""
        with self._chain_lock:
            if self._chain is None:
                self._chain = self._start_chain()
            return self._chain

    async def chain_service_async(self) -> ChainService:
        return await asyncio.to_thread(self.chain_service)

    def _start_chain(self) -> ChainService:
        options = self.options
        if options.bitcoind_rpc is not None:  # the chain the attached nodes already use
            return attached_chain(options.bitcoind_rpc)
        if options.launcher is LauncherKind.ATTACH:
            raise UnsupportedOperation(
                "attach", "chain", "attached nodes run on their own chain: give its --bitcoind-rpc URL"
            )
        if options.launcher is LauncherKind.DOCKER:
            # Containers cannot reach the host's 127.0.0.1, where `boltcheck chain` listens: in Docker the
            # chain is always a bitcoind container on the run's network.
            return self.docker_run().start_bitcoind()
        if options.chain is ChainKind.BITCOIND:
            binary = find_binary(options.bitcoind_bin, ("bitcoind",), "bitcoind", "--bitcoind-bin")
            return start_bitcoind(binary, self.scenario_dir / "bitcoind", self.ports)
        return start_embedded_chain(self.scenario_dir / "chain")

    def docker_run(self) -> DockerRun:
        if self._docker is None:
            run_id = new_run_id(worker_index(), self.options.port_seed)
            keep = self.options.keep_containers
            self._docker = DockerRun(docker_client(), run_id, self.scenario_dir / "docker", self.ports, keep)
        return self._docker

    def adopt_chain(self, chain: ChainBackend, launcher: LauncherKind) -> None:
        """Use the chain the executor opened for the scenario (NodeSetup.chain), never a second one."""
        with self._chain_lock:
            if self._chain is not None and self._chain.backend is chain:
                return
            if self._chain is not None:
                raise UnsupportedOperation("cln/lnd", "chain", "the scenario's nodes were given two chains")
            if launcher is LauncherKind.DOCKER:
                raise UnsupportedOperation(
                    "docker",
                    "embedded chain",
                    "containers cannot reach the embedded chain's RPC on the host's 127.0.0.1: "
                    "run cln/lnd in Docker with --chain bitcoind",
                )
            self._chain = served_embedded_chain(chain, self.ports.allocate())

    # ----- drivers
    def driver(self, implementation: str, setup: NodeSetup) -> NodeDriver:
        launcher = self.options.launcher_for(implementation)
        if setup.chain is not None and launcher is not LauncherKind.ATTACH:
            self.adopt_chain(setup.chain, launcher)
        if launcher is LauncherKind.ATTACH:
            if self.options.bitcoind_rpc is not None:
                self.chain_service()
            return self._attached(implementation, setup)
        if launcher is LauncherKind.DOCKER:
            run = self.docker_run()
            if implementation == "cln":
                return cln_docker_driver(setup.name, run, self.chain_service)
            return lnd_docker_driver(setup.name, run, self.chain_service)
        return self._process(implementation, setup)

    def _attached(self, implementation: str, setup: NodeSetup) -> NodeDriver:
        options = self.options
        if implementation == "cln" and options.cln_rpc is not None:
            return cln_attached_driver(setup.name, options.cln_rpc)
        if options.lnd_rest is not None and options.lnd_macaroon is not None and options.lnd_cert is not None:
            return lnd_attached_driver(setup.name, options.lnd_rest, options.lnd_macaroon, options.lnd_cert)
        raise UnsupportedOperation(implementation, "attach", "no endpoint given")

    def _process(self, implementation: str, setup: NodeSetup) -> NodeDriver:
        options = self.options
        if options.chain is ChainKind.BITCOIND:  # fail early (skip) when bitcoind is missing
            find_binary(options.bitcoind_bin, ("bitcoind",), "bitcoind", "--bitcoind-bin")
        if implementation == "cln":
            binary = find_binary(options.cln_bin, ("lightningd",), "cln", "--cln-bin")
            bitcoin_cli = find_bitcoin_cli(options.bitcoind_bin)
            return cln_process_driver(
                setup.name, binary, setup.workdir, self.ports, self.chain_service_async, bitcoin_cli
            )
        binary = find_binary(options.lnd_bin, ("lnd",), "lnd", "--lnd-bin")
        return lnd_process_driver(
            setup.name, binary, setup.workdir, self.ports, self.chain_service_async, self._fees
        )

    def close(self) -> None:
        """Stop the chain, the fee server and remove containers; nodes were stopped by the executor."""
        if self.closed:
            return
        self.closed = True
        if self._docker is not None:
            self._docker.close()
        if self._chain is not None:
            self._chain.stop()
        self._fees.close()


_SESSIONS: dict[Path, LaunchSession] = {}
_SESSIONS_LOCK = threading.Lock()


def _session(scenario_dir: Path, options: LaunchOptions | None) -> LaunchSession:
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(scenario_dir)
        if session is None:
            for other in list(_SESSIONS.values()):  # earlier scenarios of this process are over
                other.close()
            _SESSIONS.clear()
            _install_exit_handlers()
            session = LaunchSession(scenario_dir, options or LaunchOptions.from_environment())
            _SESSIONS[scenario_dir] = session
        return session


def session_for(setup: NodeSetup, options: LaunchOptions | None = None) -> LaunchSession:
    return _session(setup.workdir.parent, options)


def scenario_chain(scenario_workdir: Path, options: LaunchOptions | None = None) -> ChainBackend:
    """A bitcoind for the scenario whose work dir this is (for `--chain bitcoind`): a local process
    (`--bitcoind-bin` or PATH), a container with `--launcher docker`, or the one at `--bitcoind-rpc`
    (a bitcoind, or `boltcheck chain` reached over the same RPC); its cln/lnd nodes use the same one.
    The executor's chain opener calls this; the session stops bitcoind when the next scenario begins.
    A missing bitcoind or Docker engine is an UnsupportedOperation (the scenario is skipped with why)."""
    given = options or LaunchOptions.from_environment()
    # whatever BOLTCHECK_CHAIN says, this is the bitcoind path: never the embedded chain's process
    return _session(scenario_workdir, replace(given, chain=ChainKind.BITCOIND)).chain_service().backend


def chain_for(scenario_workdir: Path) -> ChainBackend | None:
    """The chain of the cln/lnd nodes of the scenario whose work dir this is (None if none started)."""
    session = _SESSIONS.get(scenario_workdir)
    return None if session is None else session.chain


def close_all_sessions() -> None:
    with _SESSIONS_LOCK:
        for session in list(_SESSIONS.values()):
            session.close()
        _SESSIONS.clear()
    stop_all_processes()


def cln_driver_factory(setup: NodeSetup) -> NodeDriver:
    return session_for(setup).driver("cln", setup)


def lnd_driver_factory(setup: NodeSetup) -> NodeDriver:
    return session_for(setup).driver("lnd", setup)


_handlers_installed = False


def _install_exit_handlers() -> None:
    """Clean up at exit (pytest turns Ctrl-C into a normal exit) and on SIGTERM (turned into SystemExit
    so atexit runs), unless someone else already handles SIGTERM."""
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(close_all_sessions)
    main = threading.current_thread() is threading.main_thread()
    if main and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)
