"""Subscriptions (blocks connected, blocks disconnected, mempool acceptance) and height waiters.

Callbacks run on the thread that changed the chain, after the chain's lock is released, so a callback may
call back into the chain. A callback that raises is logged with its traceback and the others still run.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from harness.chain.backend import BlockEvent, MempoolEvent

log = logging.getLogger(__name__)

EventT = TypeVar("EventT")


@dataclass
class _Subscription(Generic[EventT]):
    callback: Callable[[EventT], None]
    registry: _Registry[EventT]
    active: bool = True

    def cancel(self) -> None:
        self.active = False
        self.registry.remove(self)


@dataclass
class _Registry(Generic[EventT]):
    subscriptions: list[_Subscription[EventT]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, callback: Callable[[EventT], None]) -> _Subscription[EventT]:
        subscription = _Subscription(callback, self)
        with self.lock:
            self.subscriptions.append(subscription)
        return subscription

    def remove(self, subscription: _Subscription[EventT]) -> None:
        with self.lock:
            if subscription in self.subscriptions:
                self.subscriptions.remove(subscription)

    def emit(self, event: EventT) -> None:
        with self.lock:
            current = list(self.subscriptions)
        for subscription in current:
            if not subscription.active:
                continue
            try:
                subscription.callback(event)
            except Exception:  # one broken subscriber must not stop the chain or the other subscribers
                log.exception("chain subscriber %r failed on %s", subscription.callback, type(event).__name__)


@dataclass(frozen=True)
class Connected:
    event: BlockEvent


@dataclass(frozen=True)
class Disconnected:
    event: BlockEvent


@dataclass(frozen=True)
class Accepted:
    event: MempoolEvent


Notification = Connected | Disconnected | Accepted


class Notifier:
    def __init__(self) -> None:
        self.blocks: _Registry[BlockEvent] = _Registry()
        self.disconnects: _Registry[BlockEvent] = _Registry()
        self.mempool: _Registry[MempoolEvent] = _Registry()

    def dispatch(self, notifications: list[Notification]) -> None:
        for item in notifications:
            if isinstance(item, Connected):
                self.blocks.emit(item.event)
            elif isinstance(item, Disconnected):
                self.disconnects.emit(item.event)
            else:
                self.mempool.emit(item.event)


@dataclass
class _AsyncWaiter:
    height: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


class HeightWaiters:
    """Wakes asyncio waiters from whatever thread moved the tip (no polling)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: list[_AsyncWaiter] = []

    def add(self, height: int) -> _AsyncWaiter:
        loop = asyncio.get_running_loop()
        waiter = _AsyncWaiter(height, loop, loop.create_future())
        with self._lock:
            self._waiters.append(waiter)
        return waiter

    def discard(self, waiter: _AsyncWaiter) -> None:
        with self._lock:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def tip_moved(self, height: int) -> None:
        with self._lock:
            ready = [w for w in self._waiters if w.height <= height]
            self._waiters = [w for w in self._waiters if w.height > height]
        for waiter in ready:
            waiter.loop.call_soon_threadsafe(_resolve, waiter.future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
