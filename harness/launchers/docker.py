"""Docker: official images with pinned tags, one private bridge network per scenario run, ports published
on 127.0.0.1 only, credentials copied out of the containers, logs saved, everything removed at the end
(also after Ctrl-C: `close_all_runs` runs at exit, and every object carries the run's label).

Images (override with BOLTCHECK_IMAGE_CLN / _LND / _BITCOIND / _FEES):
- elementsproject/lightningd:v25.12 - the tag Core Lightning's own docs use for their image
  (doc/contribute-to-core-lightning/docker-images.md); its entrypoint reads LIGHTNINGD_NETWORK and, with
  EXPOSE_TCP=true, bridges the JSON-RPC socket to TCP 9835 with socat (tools/docker-entrypoint.sh).
- lightninglabs/lnd:v0.20.0-beta and lightninglabs/bitcoin-core:26 - the pair lnd's own compatibility
  test runs (scripts/bw-compatibility-test/.env in lightningnetwork/lnd).
- python:3.12-alpine - serves lnd's fixed fee estimates (feeservice.py) on the private network.

The nodes reach bitcoind and each other by container name on the network; the harness reaches them at
the published 127.0.0.1 ports. `route_peer` rewrites a published address to the container's own when a
node connects to another container. A node on the host (the in-process reference node listens on
127.0.0.1) cannot be dialled from a container: connect from the host side instead.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import io
import logging
import os
import tarfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from harness.chain.rpc_client import RpcClient
from harness.drivers.base import DriverError, NodeAddress
from harness.drivers.cln import ClnDriver, ClnRpcEndpoint
from harness.drivers.lnd import LndCredentials, LndCredentialsNotReady, LndDriver
from harness.launchers.base import LaunchUnavailable
from harness.launchers.chain import (
    RPC_USER,
    ChainService,
    ChainStartFailed,
    ensure_tip_after_genesis,
    new_rpc_password,
    prepare_faucet,
    wait_bitcoind_ready,
)
from harness.launchers.ports import PortAllocator
from harness.launchers.regtest import (
    BITCOIND_REGTEST_RPC_PORT,
    CLN_HSM_SECRET_PATH,
    CLN_P2P_PORT,
    CLN_RPC_TCP_PORT,
    LND_GRPC_PORT,
    LND_P2P_PORT,
    LND_REST_PORT,
    BitcoindRpc,
    ClnSettings,
    LndSettings,
    bitcoind_arguments,
    cln_arguments,
    cln_config,
    fee_estimates_json,
    lnd_arguments,
    lnd_config,
    lnd_credential_paths,
    new_cln_hsm_secret,
    rpcauth_line,
)

log = logging.getLogger(__name__)

IMAGES = {
    "cln": "elementsproject/lightningd:v25.12",
    "lnd": "lightninglabs/lnd:v0.20.0-beta",
    "bitcoind": "lightninglabs/bitcoin-core:26",
    "fees": "python:3.12-alpine",
}
RUN_LABEL = "boltcheck.run"
LOCALHOST = "127.0.0.1"
CLN_DATA = "/root/.lightning"
LND_DIR = "/root/.lnd"
FEES_PORT = 8000
STOP_TIMEOUT_S = 10
READY_TIMEOUT_S = 60.0


class DockerLaunchError(DriverError):
    """A container could not be created, started or read."""


def image_for(component: str, environ: Mapping[str, str] | None = None) -> str:
    source = os.environ if environ is None else environ
    return source.get(f"BOLTCHECK_IMAGE_{component.upper()}", IMAGES[component])


def docker_client() -> Any:
    """A docker SDK client for the local engine, or LaunchUnavailable saying why there is none."""
    try:
        import docker  # imported here: only Docker runs need the engine
        from docker.errors import DockerException
    except ImportError as exc:
        raise LaunchUnavailable("docker", f"the docker SDK is not installed ({exc})") from exc
    try:
        client = docker.from_env()
        client.ping()
    except DockerException as exc:
        raise LaunchUnavailable("docker", f"no Docker engine reachable: {exc}") from exc
    return client


def tar_of(files: Mapping[str, bytes], directories: tuple[str, ...] = ()) -> bytes:
    """An in-memory tar for `put_archive` (paths relative to the archive's target directory)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for directory in directories:
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            archive.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o600
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def file_from_tar(chunks: Any) -> bytes:
    """The single file in the tar stream `get_archive` returns."""
    archive_bytes = b"".join(chunks)
    with tarfile.open(fileobj=io.BytesIO(archive_bytes)) as archive:
        for member in archive.getmembers():
            if member.isfile():
                extracted = archive.extractfile(member)
                if extracted is not None:
                    return extracted.read()
    raise DockerLaunchError("get_archive returned no file")


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    command: list[str]
    ports: Mapping[int, int]  # container port -> host port on 127.0.0.1
    environment: Mapping[str, str]
    files_dir: str | None = None  # where `files` are put before the container starts
    files: Mapping[str, bytes] | None = None
    directories: tuple[str, ...] = ()


class DockerRun:
    """One scenario run's network and containers. Every call to the engine goes through `client`."""

    def __init__(
        self, client: Any, run_id: str, workdir: Path, ports: PortAllocator, keep: bool = False
    ) -> None:
        self.client = client
        self.run_id = run_id
        self.workdir = workdir
        self.ports = ports
        self.keep = keep
        self.network: Any = None
        self.containers: dict[str, Any] = {}
        self.published: dict[tuple[str, int], tuple[str, int]] = {}
        self._lock = threading.Lock()
        self._fee_url: str | None = None
        _RUNS.add(self)

    @property
    def labels(self) -> dict[str, str]:
        return {RUN_LABEL: self.run_id}

    def ensure_network(self) -> Any:
        with self._lock:
            if self.network is None:
                self.network = self.client.networks.create(self.run_id, driver="bridge", labels=self.labels)
            return self.network

    def ensure_image(self, image: str) -> None:
        from docker.errors import ImageNotFound

        try:
            self.client.images.get(image)
        except ImageNotFound:
            repository, tag = parse_image(image)
            self.client.images.pull(repository, tag=tag)

    def create(self, spec: ContainerSpec) -> Any:
        """Create a container on the network, put its files in, start it."""
        network = self.ensure_network()
        self.ensure_image(spec.image)
        container = self.client.containers.create(
            spec.image,
            command=spec.command,
            name=spec.name,
            hostname=spec.name,
            environment=dict(spec.environment),
            ports={f"{inner}/tcp": (LOCALHOST, outer) for inner, outer in spec.ports.items()},
            network=network.name,
            labels=self.labels,
        )
        self.containers[spec.name] = container
        for inner, outer in spec.ports.items():
            self.published[(LOCALHOST, outer)] = (spec.name, inner)
        if spec.files_dir is not None and (spec.files or spec.directories):
            container.put_archive(spec.files_dir, tar_of(spec.files or {}, spec.directories))
        container.start()
        return container

    def copy_out(self, container: Any, path: str) -> bytes:
        from docker.errors import NotFound

        try:
            chunks, _stat = container.get_archive(path)
        except NotFound as exc:
            raise LndCredentialsNotReady(f"{path} not in {container.name} yet") from exc
        return file_from_tar(chunks)

    def route_peer(self, address: NodeAddress) -> NodeAddress:
        inner = self.published.get((address.host, address.port))
        return address if inner is None else NodeAddress(address.node_id, inner[0], inner[1])

    def save_logs(self) -> None:
        from docker.errors import APIError

        self.workdir.mkdir(parents=True, exist_ok=True)
        for name, container in self.containers.items():
            try:
                (self.workdir / f"{name}.log").write_bytes(container.logs())
            except (APIError, OSError) as exc:  # must not stop the cleanup: noted in the log's place
                (self.workdir / f"{name}.log").write_text(f"(logs unavailable: {type(exc).__name__}: {exc})")

    def close(self) -> None:
        """Save every log, then remove every container and the network (unless --keep-containers)."""
        self.save_logs()
        if not self.keep:
            for container in self.containers.values():
                _remove_quietly(container.name, functools.partial(container.remove, force=True, v=True))
            if self.network is not None:
                network = self.network
                _remove_quietly(network.name, network.remove)
            self.containers.clear()
            self.network = None
        _RUNS.discard(self)

    # ----- services
    def start_bitcoind(self) -> ChainService:
        password = new_rpc_password()
        name = f"{self.run_id}-bitcoind"
        host_port = self.ports.allocate()
        command = bitcoind_arguments(
            data_dir=None,  # $HOME/.bitcoin, created by bitcoind
            rpc_port=BITCOIND_REGTEST_RPC_PORT,
            p2p_port=BITCOIND_REGTEST_RPC_PORT + 1,
            rpcauth=rpcauth_line(RPC_USER, password, new_rpc_password()),
            bind_all=True,  # inside the private network; published on the host's 127.0.0.1 only
        )
        spec = ContainerSpec(
            name,
            image_for("bitcoind"),
            command,
            {BITCOIND_REGTEST_RPC_PORT: host_port},
            {"HOME": "/home/bitcoin"},
        )
        container = self.create(spec)
        client = RpcClient(f"http://{LOCALHOST}:{host_port}/", RPC_USER, password)
        wait_bitcoind_ready(
            client, lambda t: container_exited(container, t), READY_TIMEOUT_S, lambda: _logs_tail(container)
        )
        chain = prepare_faucet(client)
        rpc = BitcoindRpc(name, BITCOIND_REGTEST_RPC_PORT, RPC_USER, password)
        return ChainService(rpc, chain, f"bitcoind container {name}", chain.close)

    def fee_url(self) -> str:
        if self._fee_url is None:
            name = f"{self.run_id}-fees"
            host_port = self.ports.allocate()
            command = [
                "python",
                "-m",
                "http.server",
                str(FEES_PORT),
                "--bind",
                "0.0.0.0",
                "--directory",
                "/srv",
            ]
            spec = ContainerSpec(
                name,
                image_for("fees"),
                command,
                {FEES_PORT: host_port},
                {},
                "/srv",
                {"fees.json": fee_estimates_json()},
            )
            container = self.create(spec)
            _wait_http(f"http://{LOCALHOST}:{host_port}/fees.json", container, READY_TIMEOUT_S)
            self._fee_url = f"http://{name}:{FEES_PORT}/fees.json"
        return self._fee_url


def _remove_quietly(name: str, remove: Callable[[], object]) -> None:
    from docker.errors import APIError, NotFound

    try:
        remove()
    except NotFound:
        return
    except APIError as exc:  # logged, not raised: the cleanup goes on with the next object
        log.warning("could not remove %s: %s", name, exc)


def container_exited(container: Any, timeout_s: float) -> bool:
    """Wait up to timeout_s on the container's exit (the engine's wait, not a sleep)."""
    import requests

    try:
        container.wait(timeout=timeout_s)
    except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
        return False
    return True


def _logs_tail(container: Any, max_bytes: int = 4000) -> str:
    from docker.errors import APIError

    try:
        return bytes(container.logs(tail=200))[-max_bytes:].decode(errors="replace")
    except APIError as exc:
        return f"(no logs: {exc})"


def _wait_http(url: str, container: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    last = "no attempt"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2.0) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        if container_exited(container, 0.1):
            raise ChainStartFailed(f"{container.name} exited: {_logs_tail(container)}")
    raise ChainStartFailed(f"{url} not answering after {timeout_s:g}s ({last})")


class ContainerHandle:
    """A node's container (NodeHandle): created on first start, then stopped and started in place."""

    owns_node = True

    def __init__(self, name: str, run: DockerRun, spec: Callable[[], ContainerSpec]) -> None:
        self.name = name
        self.run = run
        self.spec = spec
        self.container: Any = None

    async def start(self) -> None:
        if self.container is None:
            self.container = await asyncio.to_thread(lambda: self.run.create(self.spec()))
        else:
            await asyncio.to_thread(self.container.start)

    async def stop(self) -> None:
        if self.container is not None:
            await asyncio.to_thread(self.container.stop, timeout=STOP_TIMEOUT_S)
            # saved at once, so a failed scenario's work dir has the log before the reports are written
            await asyncio.to_thread(self.run.save_logs)

    async def wait_exit(self, timeout_s: float) -> bool:
        if self.container is None:
            return False
        return await asyncio.to_thread(container_exited, self.container, timeout_s)

    def log_tail(self, max_bytes: int = 4000) -> str:
        return "(not created)" if self.container is None else _logs_tail(self.container, max_bytes)


def cln_docker_driver(name: str, run: DockerRun, chain: Callable[[], ChainService]) -> ClnDriver:
    container_name = f"{run.run_id}-{name}"
    p2p_port, rpc_port = run.ports.allocate(), run.ports.allocate()
    run.ensure_image(image_for("cln"))  # pull now: a first pull would not fit the node's start timeout
    hsm_secret = new_cln_hsm_secret()  # once per node: a re-created container keeps its identity

    def spec() -> ContainerSpec:
        settings = ClnSettings(
            lightning_dir=CLN_DATA,
            alias=name,
            bind_host="0.0.0.0",
            bind_port=CLN_P2P_PORT,
            bitcoind=chain().node_rpc,
        )
        return ContainerSpec(
            container_name,
            image_for("cln"),
            cln_arguments(settings),
            {CLN_P2P_PORT: p2p_port, CLN_RPC_TCP_PORT: rpc_port},
            {"LIGHTNINGD_NETWORK": "regtest", "EXPOSE_TCP": "true"},
            CLN_DATA,
            {"config": cln_config(settings).encode(), CLN_HSM_SECRET_PATH: hsm_secret},
            directories=("regtest",),  # the entrypoint watches it for lightning-rpc
        )

    handle = ContainerHandle(name, run, spec)
    endpoint = ClnRpcEndpoint(tcp_host=LOCALHOST, tcp_port=rpc_port)
    return ClnDriver(handle, endpoint, (LOCALHOST, p2p_port), developer=True, route_peer=run.route_peer)


def lnd_docker_driver(name: str, run: DockerRun, chain: Callable[[], ChainService]) -> LndDriver:
    container_name = f"{run.run_id}-{name}"
    p2p_port, rest_port = run.ports.allocate(), run.ports.allocate()
    run.ensure_image(image_for("lnd"))  # pull now: a first pull would not fit the node's start timeout
    cert_path, macaroon_path = lnd_credential_paths(LND_DIR)

    def spec() -> ContainerSpec:
        service = chain()
        ensure_tip_after_genesis(service.backend)
        settings = LndSettings(
            lnd_dir=LND_DIR,
            alias=name,
            listen_host="0.0.0.0",
            p2p_port=LND_P2P_PORT,
            rest_port=LND_REST_PORT,
            grpc_port=LND_GRPC_PORT,
            bitcoind=service.node_rpc,
            fee_url=run.fee_url(),
            tls_extra_domains=("localhost", container_name),
        )
        return ContainerSpec(
            container_name,
            image_for("lnd"),
            lnd_arguments(settings),
            {LND_P2P_PORT: p2p_port, LND_REST_PORT: rest_port},
            {},
            LND_DIR,
            {"lnd.conf": lnd_config(settings).encode()},
        )

    handle = ContainerHandle(name, run, spec)

    async def credentials() -> LndCredentials:
        if handle.container is None:
            raise LndCredentialsNotReady(f"{name}: container not created")
        cert = await asyncio.to_thread(run.copy_out, handle.container, cert_path)
        macaroon = await asyncio.to_thread(run.copy_out, handle.container, macaroon_path)
        return LndCredentials(cert, macaroon.hex())

    rest_url = f"https://{LOCALHOST}:{rest_port}"
    return LndDriver(handle, rest_url, credentials, (LOCALHOST, p2p_port), route_peer=run.route_peer)


_RUNS: set[DockerRun] = set()


def close_all_runs() -> None:
    for run in list(_RUNS):
        run.close()


def new_run_id(worker: int, seed: int) -> str:
    return f"boltcheck-{worker}-{seed & 0xFFFFFFFF:08x}-{os.getpid()}-{time.monotonic_ns() % 10**6}"


atexit.register(close_all_runs)


def parse_image(image: str) -> tuple[str, str]:
    """'repo/name:tag' -> ('repo/name', 'tag'); a registry port is not a tag."""
    path = PurePosixPath(image)
    name, sep, tag = path.name.partition(":")
    if not sep:
        raise DockerLaunchError(f"image {image!r} has no pinned tag")
    return str(path.parent / name) if str(path.parent) != "." else name, tag
