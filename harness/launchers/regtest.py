"""Regtest configuration for bitcoind, Core Lightning and lnd: pure functions from settings to files and
command lines, shared by the process and Docker launchers (and checked by unit tests).

Fast and deterministic:
- 1-confirmation channels: CLN `funding-confirms=1`, lnd `bitcoin.defaultchanconfs=1` (a scenario that
  needs deeper funding mines more blocks; BOLT 2 lets the acceptor choose `minimum_depth`).
- short chain polling: CLN `dev-bitcoind-poll=1` (seconds; developer mode), lnd polls bitcoind's RPC
  (`bitcoind.rpcpolling`, no ZMQ needed) every `POLL_INTERVAL_MS`.
- one fixed fee rate for everybody. On regtest bitcoind has no estimates: CLN then falls back to the
  253 sat/kw floor, lnd to its 25 sat/vB fallback (chainreg: `fallBackFeeRate`), and each rejects the
  other's `feerate_per_kw` as out of range. So CLN gets `force-feerates=FIXED_FEERATE_PER_KW` and lnd
  gets `fee.url` serving the same rate (`fee_estimates_json`, lnd's SparseConfFeeSource format).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from harness.chain.bitcoind_launcher import relay_policy_arguments

#: sat per 1000 weight units, for every feerate of every implementation (10 sat/vB)
FIXED_FEERATE_PER_KW = 2500
FIXED_FEERATE_SAT_PER_KVB = FIXED_FEERATE_PER_KW * 4
MIN_RELAY_FEERATE_SAT_PER_KVB = 1000
POLL_INTERVAL_MS = 200
BITCOIND_REGTEST_RPC_PORT = 18443
CLN_P2P_PORT = 9735
CLN_RPC_TCP_PORT = 9835  # the elementsproject/lightningd image's socat bridge (EXPOSE_TCP=true)
LND_P2P_PORT = 9735
LND_REST_PORT = 8080
LND_GRPC_PORT = 10009
#: confirmation targets lnd asks its fee source for
_FEE_TARGETS = (1, 2, 3, 6, 12, 25, 144, 1008)


@dataclass(frozen=True)
class BitcoindRpc:
    """How a node reaches bitcoind's RPC. The password is a per-run random regtest credential."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"


def rpcauth_line(user: str, password: str, salt_hex: str) -> str:
    """bitcoind's `-rpcauth=user:salt$hmac`: HMAC-SHA256 keyed by the salt over the password (the format
    Bitcoin Core's share/rpcauth/rpcauth.py prints), so the password never appears on a command line."""
    digest = hmac.new(salt_hex.encode(), password.encode(), hashlib.sha256).hexdigest()
    return f"{user}:{salt_hex}${digest}"


def bitcoind_arguments(
    *, data_dir: str | None, rpc_port: int, p2p_port: int, rpcauth: str, bind_all: bool = False
) -> list[str]:
    """Arguments after the bitcoind executable. `bind_all` is for a container on a private network
    (its published port is bound to 127.0.0.1 on the host); a local process binds 127.0.0.1 only.
    `data_dir` None: bitcoind's default ($HOME/.bitcoin, which it creates; -datadir must exist)."""
    bind = (
        ["-rpcbind=0.0.0.0", "-rpcallowip=0.0.0.0/0"]
        if bind_all
        else [
            "-rpcbind=127.0.0.1",
            "-rpcallowip=127.0.0.1",
        ]
    )
    return [
        *([f"-datadir={data_dir}"] if data_dir is not None else []),
        "-regtest",
        "-server",
        "-txindex",  # get_tx of any transaction (ChainBackend)
        "-listen=0",
        f"-port={p2p_port}",
        f"-rpcport={rpc_port}",
        *bind,
        f"-rpcauth={rpcauth}",
        "-fallbackfee=0.0002",  # the faucet wallet pays without estimates
        *relay_policy_arguments(),  # the same fee floors on every bitcoind version (v30 lowered them)
        "-printtoconsole",
    ]


@dataclass(frozen=True)
class ClnSettings:
    lightning_dir: str
    alias: str
    bind_host: str
    bind_port: int
    bitcoind: BitcoindRpc
    bitcoin_cli: str | None = None  # bcli shells out to bitcoin-cli; None: the one on PATH
    developer: bool = True  # dev-bitcoind-poll and dev-fail need developer mode
    rpc_file: str | None = None  # a short path: unix socket paths are limited to ~108 bytes
    plugins: tuple[str, ...] = ()  # extra plugin files (the harness's hold plugin, local processes)


def cln_config(settings: ClnSettings) -> str:
    """The `config` file lightningd reads from its lightning-dir (credentials stay off the command line)."""
    lines = [
        "network=regtest",
        f"alias={settings.alias}",
        f"bind-addr={settings.bind_host}:{settings.bind_port}",
        "log-level=debug",  # to stdout (no log-file): the launcher's log file or the container's logs
        f"bitcoin-rpcconnect={settings.bitcoind.host}",
        f"bitcoin-rpcport={settings.bitcoind.port}",
        f"bitcoin-rpcuser={settings.bitcoind.user}",
        f"bitcoin-rpcpassword={settings.bitcoind.password}",
        "funding-confirms=1",
        f"force-feerates={FIXED_FEERATE_PER_KW}",
        # cln-grpc listens on a fixed port by default: two nodes on one host would collide
        "disable-plugin=cln-grpc",
    ]
    if settings.bitcoin_cli is not None:
        lines.append(f"bitcoin-cli={settings.bitcoin_cli}")
    if settings.rpc_file is not None:
        lines.append(f"rpc-file={settings.rpc_file}")
    lines += [f"plugin={plugin}" for plugin in settings.plugins]
    if settings.developer:
        lines += ["developer", "dev-bitcoind-poll=1", "dev-fast-gossip"]
    return "\n".join(lines) + "\n"


#: where lightningd reads its secret, relative to its lightning-dir
CLN_HSM_SECRET_PATH = "regtest/hsm_secret"


def new_cln_hsm_secret() -> bytes:
    """A plain 32-byte hsm_secret, written before lightningd's first start.

    Left to itself, lightningd v25.12 creates a mnemonic (BIP39) hsm_secret, and with one its wallet is
    inconsistent: newaddr's p2wpkh keys are BIP86-derived but hsmd signs p2wpkh with the BIP32 key
    (ElementsProject/lightning#8674), and onchaind sweeps its unilateral-close outputs (delayed to_local,
    HTLC outputs, penalties) to p2tr of the BIP32 key (lightningd/onchain_control.c bip32_pubkey) while
    the wallet only watches p2tr of the BIP86 key: the swept coins never reach listfunds. With a plain
    32-byte secret (common/hsm_secret.c HSM_SECRET_PLAIN) every wallet key is BIP32, as before v25.12.
    A regtest test key, random per node, kept in the node's directory only.
    """
    return secrets.token_bytes(32)


def cln_arguments(settings: ClnSettings) -> list[str]:
    return [f"--lightning-dir={settings.lightning_dir}"]


def cln_rpc_path(lightning_dir: str) -> str:
    """Where lightningd puts its JSON-RPC socket: `<lightning-dir>/<network>/lightning-rpc`."""
    return str(PurePosixPath(lightning_dir) / "regtest" / "lightning-rpc")


@dataclass(frozen=True)
class LndSettings:
    lnd_dir: str
    alias: str
    listen_host: str
    p2p_port: int
    rest_port: int
    grpc_port: int
    bitcoind: BitcoindRpc
    fee_url: str | None
    tls_extra_domains: tuple[str, ...] = ("localhost",)
    tls_extra_ips: tuple[str, ...] = ("127.0.0.1",)


def lnd_config(settings: LndSettings) -> str:
    """lnd.conf. The REST listener serves TLS with lnd's self-signed tls.cert; the extra domains and IPs
    put the names the harness connects by into that certificate, so hostname checks stay on."""
    app = [
        "[Application Options]",
        f"alias={settings.alias}",
        f"listen={settings.listen_host}:{settings.p2p_port}",
        f"rpclisten={settings.listen_host}:{settings.grpc_port}",
        f"restlisten={settings.listen_host}:{settings.rest_port}",
        "debuglevel=debug",
        "noseedbackup=true",  # regtest: wallet created and unlocked at start, no seed to type
        "maxpendingchannels=10",
        "trickledelay=50",
        *(f"tlsextradomain={d}" for d in settings.tls_extra_domains),
        *(f"tlsextraip={ip}" for ip in settings.tls_extra_ips),
    ]
    bitcoin = [
        "[Bitcoin]",
        "bitcoin.regtest=true",
        "bitcoin.node=bitcoind",
        "bitcoin.defaultchanconfs=1",
    ]
    bitcoind = [
        "[Bitcoind]",
        f"bitcoind.rpchost={settings.bitcoind.host}:{settings.bitcoind.port}",
        f"bitcoind.rpcuser={settings.bitcoind.user}",
        f"bitcoind.rpcpass={settings.bitcoind.password}",
        "bitcoind.rpcpolling=true",
        f"bitcoind.blockpollinginterval={POLL_INTERVAL_MS}ms",
        f"bitcoind.txpollinginterval={POLL_INTERVAL_MS}ms",
    ]
    sections = [app, bitcoin, bitcoind]
    if settings.fee_url is not None:
        sections.append(["[fee]", f"fee.url={settings.fee_url}"])
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


def lnd_arguments(settings: LndSettings) -> list[str]:
    return [f"--lnddir={settings.lnd_dir}", f"--configfile={PurePosixPath(settings.lnd_dir) / 'lnd.conf'}"]


def lnd_credential_paths(lnd_dir: str) -> tuple[str, str]:
    """(tls.cert, admin.macaroon) under an lnd dir on regtest."""
    base = PurePosixPath(lnd_dir)
    return str(base / "tls.cert"), str(base / "data" / "chain" / "bitcoin" / "regtest" / "admin.macaroon")


def fee_estimates_json() -> bytes:
    """What lnd's `fee.url` serves: `fee_by_block_target` in sat/kvB, the same rate for every target."""
    body = {
        "fee_by_block_target": {str(target): FIXED_FEERATE_SAT_PER_KVB for target in _FEE_TARGETS},
        "min_relay_feerate": MIN_RELAY_FEERATE_SAT_PER_KVB,
    }
    return json.dumps(body, sort_keys=True).encode()
