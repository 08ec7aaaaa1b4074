"""An Electrum-protocol server (protocol 1.4) in front of the embedded chain, for Electrum wallets under test.

Modules: `protocol` (newline-delimited JSON-RPC 2.0 framing and errors), `merkle` (transaction and header
merkle branches), `index` (scripthash histories, UTXOs and balances over the chain and its mempool),
`methods` (the protocol's methods), `server` (asyncio TCP server with subscriptions and notifications).

    server = ElectrumServer(chain)
    await server.start()            # 127.0.0.1, any free port: server.port
    ...                             # electrum --oneserver --server 127.0.0.1:{port}:t
    await server.close()
"""

from harness.chain.electrum.protocol import PROTOCOL_VERSION, ElectrumRpcError
from harness.chain.electrum.server import ElectrumServer

__all__ = ["PROTOCOL_VERSION", "ElectrumRpcError", "ElectrumServer"]
