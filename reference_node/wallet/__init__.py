"""On-chain wallet: BIP32 keys from the node's seed, UTXOs from scanned blocks, coin selection, funding and
sweep transactions with change (see wallet.py)."""

from reference_node.wallet.bip32 import Bip32Error, ExtendedPrivateKey
from reference_node.wallet.wallet import BuiltTx, InsufficientFunds, Wallet, WalletError

__all__ = ["Bip32Error", "BuiltTx", "ExtendedPrivateKey", "InsufficientFunds", "Wallet", "WalletError"]
