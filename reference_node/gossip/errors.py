"""Errors of the BOLT 7 gossip layer.

Two families, because BOLT 7 gives a receiver two different reactions:

- `GossipWarning` and its subclasses: the spec says the receiver "SHOULD send a `warning`" (bad signature,
  invalid `node_id`, `addrlen` too short, malformed query). The node catches these, sends a BOLT 1
  `warning` and may close the connection. Each carries `message` (the spec name) and a description.
- Everything the spec says to *ignore* is not an exception: the graph returns a `GossipResult` whose
  `ignored` reason says why (see graph.py).

`OriginError` is raised when we are asked to *create* a message that breaks an origin-node requirement.
"""

from __future__ import annotations


class GossipError(Exception):
    """Base of every error raised by reference_node.gossip."""


class GossipWarning(GossipError):
    """A received message for which BOLT 7 says "SHOULD send a `warning`"."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(f"{message}: {detail}")
        self.message = message
        self.detail = detail


class InvalidSignatureError(GossipWarning):
    """A signature (`which` names the field, e.g. `node_signature_2`) does not verify."""

    def __init__(self, message: str, which: str, detail: str = "signature does not verify") -> None:
        super().__init__(message, f"{which}: {detail}")
        self.which = which


class InvalidNodeIdError(GossipWarning):
    """`node_id` is not a valid compressed public key."""


class AddressDescriptorError(GossipWarning):
    """`addresses` of a `node_announcement` is malformed (e.g. `addrlen` too short for a known type)."""


class QueryError(GossipWarning):
    """A gossip query breaks a receiver rule where BOLT 7 says "MAY send a `warning`"."""


class OriginError(GossipError):
    """We were asked to build a message that an origin node MUST NOT create."""


class AnnouncementSignaturesError(GossipError):
    """`announcement_signatures` cannot be produced or does not match our channel."""


class ShortChannelIdMismatchError(AnnouncementSignaturesError):
    """BOLT 7: "If the `short_channel_id` doesn't match one of its funding transactions: SHOULD send a
    `warning`"."""


class NotEnoughConfirmationsError(AnnouncementSignaturesError):
    """The funding transaction has fewer than 6 confirmations."""


class ReplyRangeError(GossipError):
    """A `reply_channel_range` breaks the rules for the replies to our `query_channel_range`."""


class QueryStateError(GossipError):
    """A query may not be sent now (a previous one is still unanswered)."""


class GraphFormatError(GossipError):
    """A dumped graph cannot be loaded."""


class RouteIndexError(GossipError):
    """A failure is attributed to a hop index that is not in the route."""


class RouteNotFoundError(GossipError):
    """No route satisfies the amount, limits and exclusions."""
