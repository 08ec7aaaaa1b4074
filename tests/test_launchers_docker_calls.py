"""The Docker launcher's calls to the docker SDK, checked against a fake client that only records them.
A unit test of our call sequence (network, image, container, files, ports, credentials, logs, cleanup):
NOT interop. Runs against a real engine are in tests/test_launchers_real_programs.py (marker docker)."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from docker.errors import ImageNotFound, NotFound

from harness.drivers.base import NodeAddress, UnsupportedOperation
from harness.drivers.lnd import LndCredentialsNotReady
from harness.launchers.chain import ChainService
from harness.launchers.docker import (
    IMAGES,
    RUN_LABEL,
    DockerRun,
    cln_docker_driver,
    docker_client,
    image_for,
    lnd_docker_driver,
    parse_image,
    tar_of,
)
from harness.launchers.ports import PortAllocator
from harness.launchers.regtest import BitcoindRpc

Calls = list[tuple[str, ...]]


@dataclass
class FakeContainer:
    name: str
    calls: Calls
    files: dict[str, bytes] = field(default_factory=dict)
    archives: list[tuple[str, bytes]] = field(default_factory=list)

    def put_archive(self, path: str, data: bytes) -> bool:
        self.calls.append(("put_archive", self.name, path))
        self.archives.append((path, data))
        return True

    def start(self) -> None:
        self.calls.append(("start", self.name))

    def stop(self, timeout: int = 10) -> None:
        self.calls.append(("stop", self.name))

    def remove(self, force: bool = False, v: bool = False) -> None:
        self.calls.append(("remove", self.name, f"force={force}", f"volumes={v}"))

    def wait(self, timeout: float) -> dict[str, int]:
        raise requests.exceptions.ReadTimeout("still running")

    def logs(self, tail: int | None = None) -> bytes:
        return f"log of {self.name}\n".encode()

    def get_archive(self, path: str) -> tuple[list[bytes], dict[str, Any]]:
        self.calls.append(("get_archive", self.name, path))
        if path not in self.files:
            raise NotFound(f"{path} not found")
        return [tar_of({Path(path).name: self.files[path]})], {"name": Path(path).name}


@dataclass
class FakeNetwork:
    name: str
    calls: Calls

    def remove(self) -> None:
        self.calls.append(("network.remove", self.name))


class FakeDockerClient:
    """Records what the launcher asks the engine for; answers like docker SDK 7 objects would."""

    def __init__(self, present_images: set[str] | None = None) -> None:
        self.calls: Calls = []
        self.present = present_images or set()
        self.created: dict[str, dict[str, Any]] = {}
        self.by_name: dict[str, FakeContainer] = {}
        client = self

        class Networks:
            def create(self, name: str, driver: str, labels: dict[str, str]) -> FakeNetwork:
                client.calls.append(("network.create", name, driver, json.dumps(labels)))
                return FakeNetwork(name, client.calls)

        class Images:
            def get(self, image: str) -> object:
                client.calls.append(("image.get", image))
                if image not in client.present:
                    raise ImageNotFound(image)
                return object()

            def pull(self, repository: str, tag: str) -> object:
                client.calls.append(("image.pull", repository, tag))
                client.present.add(f"{repository}:{tag}")
                return object()

        class Containers:
            def create(self, image: str, **kwargs: Any) -> FakeContainer:
                client.calls.append(("container.create", kwargs["name"], image))
                client.created[kwargs["name"]] = {"image": image, **kwargs}
                container = FakeContainer(kwargs["name"], client.calls)
                client.by_name[kwargs["name"]] = container
                return container

        self.networks, self.images, self.containers = Networks(), Images(), Containers()


@dataclass
class FakeBackend:
    """Only what the launcher asks of the chain before lnd starts: its height, and a block if at 0."""

    blocks: int = 150
    mined: list[int] = field(default_factory=list)

    def height(self) -> int:
        return self.blocks

    def mine(self, n: int) -> list[str]:
        self.mined.append(n)
        self.blocks += n
        return ["00" * 32] * n


def fake_service(backend: FakeBackend) -> ChainService:
    rpc = BitcoindRpc("run-bitcoind", 18443, "boltcheck", "pw")
    return ChainService(rpc, backend, "fake chain", lambda: None)  # type: ignore[arg-type]


def fake_chain() -> ChainService:
    return fake_service(FakeBackend())


def new_run(tmp_path: Path, client: FakeDockerClient, keep: bool = False) -> DockerRun:
    return DockerRun(client, "run", tmp_path / "docker", PortAllocator(9, seed=1), keep)


def files_in(archive: bytes) -> dict[str, bytes | None]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {m.name: (tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()}  # type: ignore[union-attr]


def test_every_image_is_pinned_to_a_tag_and_can_be_overridden() -> None:
    for component, image in IMAGES.items():
        _repository, tag = parse_image(image)
        assert tag and tag != "latest", image
        assert image_for(component, {f"BOLTCHECK_IMAGE_{component.upper()}": "x/y:1"}) == "x/y:1"


def test_cln_container_call_sequence(tmp_path: Path) -> None:
    client = FakeDockerClient()
    run = new_run(tmp_path, client)
    driver = cln_docker_driver("alice", run, fake_chain)
    assert [c[0] for c in client.calls] == ["image.get", "image.pull"]  # pulled when the driver is made
    asyncio.run(driver.handle.start())
    names = [c[0] for c in client.calls[2:]]
    assert names == ["network.create", "image.get", "container.create", "put_archive", "start"]
    assert json.loads(client.calls[2][3]) == {RUN_LABEL: "run"}
    created = client.created["run-alice"]
    assert (
        created["image"] == IMAGES["cln"]
        and created["network"] == "run"
        and created["labels"] == {RUN_LABEL: "run"}
    )
    assert created["environment"] == {"LIGHTNINGD_NETWORK": "regtest", "EXPOSE_TCP": "true"}
    assert {host for host, _port in created["ports"].values()} == {"127.0.0.1"}  # published on loopback only
    assert set(created["ports"]) == {"9735/tcp", "9835/tcp"}
    ((path, archive),) = client.by_name["run-alice"].archives
    contents = files_in(archive)
    assert path == "/root/.lightning" and "regtest" in contents
    config = (contents["config"] or b"").decode().splitlines()
    assert "bitcoin-rpcconnect=run-bitcoind" in config and "bind-addr=0.0.0.0:9735" in config
    # a plain 32-byte secret, not the mnemonic lightningd v25.12 would create (regtest.new_cln_hsm_secret)
    assert len(contents["regtest/hsm_secret"] or b"") == 32
    assert (
        driver.rpc.endpoint.tcp_host == "127.0.0.1"
        and driver.rpc.endpoint.tcp_port == created["ports"]["9835/tcp"][1]
    )


def test_a_present_image_is_not_pulled(tmp_path: Path) -> None:
    client = FakeDockerClient(present_images={IMAGES["cln"]})
    asyncio.run(cln_docker_driver("alice", new_run(tmp_path, client), fake_chain).handle.start())
    assert not any(c[0] == "image.pull" for c in client.calls)


def test_restart_starts_the_same_container_again(tmp_path: Path) -> None:
    client = FakeDockerClient(present_images={IMAGES["cln"]})
    handle = cln_docker_driver("alice", new_run(tmp_path, client), fake_chain).handle
    asyncio.run(handle.start())
    asyncio.run(handle.stop())
    asyncio.run(handle.start())
    assert [c[0] for c in client.calls].count("container.create") == 1
    assert (tmp_path / "docker" / "run-alice.log").exists()  # saved when the node stopped
    assert [c for c in client.calls if c[0] in ("stop", "start")] == [
        ("start", "run-alice"),
        ("stop", "run-alice"),
        ("start", "run-alice"),
    ]


def test_lnd_credentials_are_copied_out_of_the_container(tmp_path: Path) -> None:
    client = FakeDockerClient(present_images={IMAGES["lnd"]})
    run = new_run(tmp_path, client)
    run._fee_url = "http://run-fees:8000/fees.json"  # the fee container is started by a real engine only
    driver = lnd_docker_driver("bob", run, fake_chain)

    async def scenario() -> Any:
        with pytest.raises(LndCredentialsNotReady):
            await driver.credentials()  # no container yet
        await driver.handle.start()
        container = client.by_name["run-bob"]
        with pytest.raises(LndCredentialsNotReady):
            await driver.credentials()  # lnd has not written them yet
        container.files["/root/.lnd/tls.cert"] = b"-----BEGIN CERTIFICATE-----\n"
        container.files["/root/.lnd/data/chain/bitcoin/regtest/admin.macaroon"] = b"\x02\x01mac"
        return await driver.credentials()

    credentials = asyncio.run(scenario())
    assert credentials.macaroon_hex == b"\x02\x01mac".hex() and credentials.cert_pem.startswith(b"-----BEGIN")
    ((path, archive),) = client.by_name["run-bob"].archives
    conf = (files_in(archive)["lnd.conf"] or b"").decode()
    assert path == "/root/.lnd" and "fee.url=http://run-fees:8000/fees.json" in conf
    assert "tlsextradomain=run-bob" in conf and "tlsextraip=127.0.0.1" in conf
    created = client.created["run-bob"]
    assert set(created["ports"]) == {"9735/tcp", "8080/tcp"}
    assert driver.rest_url == f"https://127.0.0.1:{created['ports']['8080/tcp'][1]}"


def test_close_saves_every_log_then_removes_containers_and_network(tmp_path: Path) -> None:
    client = FakeDockerClient(present_images={IMAGES["cln"]})
    run = new_run(tmp_path, client)
    asyncio.run(cln_docker_driver("alice", run, fake_chain).handle.start())
    run.close()
    assert (tmp_path / "docker" / "run-alice.log").read_text() == "log of run-alice\n"
    # the anonymous volume of the image's VOLUME /root/.lightning goes with the container
    assert client.calls[-2:] == [
        ("remove", "run-alice", "force=True", "volumes=True"),
        ("network.remove", "run"),
    ]


def test_keep_containers_saves_logs_but_removes_nothing(tmp_path: Path) -> None:
    client = FakeDockerClient(present_images={IMAGES["cln"]})
    run = new_run(tmp_path, client, keep=True)
    asyncio.run(cln_docker_driver("alice", run, fake_chain).handle.start())
    run.close()
    assert (tmp_path / "docker" / "run-alice.log").exists()
    assert not any(c[0] in ("remove", "network.remove") for c in client.calls)


def test_a_container_dialling_another_uses_its_name_on_the_private_network(tmp_path: Path) -> None:
    client = FakeDockerClient(present_images={IMAGES["cln"]})
    run = new_run(tmp_path, client)
    bob = cln_docker_driver("bob", run, fake_chain)
    asyncio.run(bob.handle.start())
    assert bob.p2p is not None
    published = NodeAddress(b"\x02" * 33, *bob.p2p)
    assert run.route_peer(published) == NodeAddress(b"\x02" * 33, "run-bob", 9735)
    elsewhere = NodeAddress(b"\x02" * 33, "127.0.0.1", 1)
    assert run.route_peer(elsewhere) == elsewhere


def test_without_an_engine_docker_is_unsupported_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/boltcheck-docker.sock")
    with pytest.raises(UnsupportedOperation, match="no Docker engine"):
        docker_client()


def test_lnd_gets_a_block_when_the_chain_is_still_at_genesis(tmp_path: Path) -> None:
    client = FakeDockerClient(present_images={IMAGES["lnd"]})
    run = new_run(tmp_path, client)
    run._fee_url = "http://run-fees:8000/fees.json"
    backend = FakeBackend(blocks=0)
    service = fake_service(backend)
    asyncio.run(lnd_docker_driver("bob", run, lambda: service).handle.start())
    assert backend.mined == [1]  # lnd is synced_to_chain only with a recent tip; genesis is from 2011
