"""A listening socket per worker, so that the kernel spreads connections evenly across workers.

uvicorn's supervisor binds one listening socket and hands the same socket to every worker. The
workers then race to accept: uvloop and asyncio accept every pending connection in one
wake-up, so whichever worker wakes first can take a whole burst. A client that opens its
keep-alive connections at once (a gateway's pool, a load generator) then has most or all of
them on one worker, which serves like one worker while the others idle. Measured with wrk's
16 connections and 2 workers against a running server: 16/0, 15/1 and 14/2 in 24 runs
(docs/serving.md, session 16).

Here every worker listens on a socket of its own, bound to the same address with
``SO_REUSEPORT``. Linux then picks the socket of each new connection from a hash of its
addresses and ports, whichever worker is awake: the split is a draw of coin flips (10/6 of 16
is typical, 14/2 or worse one time in 240). uvicorn's
supervisor is kept as it is (health checks, replacement of a dead worker, rolling restart on
SIGHUP). It passes its workers the socket it holds, pickled: a :class:`WorkerSocket` arrives
in a worker as a new socket bound to its address, not as a copy of the supervisor's. uvicorn
makes it listen once the app has started, so a worker still loading its models (at start, or
replacing one that died) takes no connection. The supervisor's own socket is bound, so a taken
address fails at once, but never listens, so it takes no connection either.

A worker that stops closes its socket, and the connections still waiting in that socket's
backlog are reset, unless ``net.ipv4.tcp_migrate_req`` is 1 (Linux 5.14 and later); then the
kernel hands them to the other workers.
"""

from __future__ import annotations

import socket
import sys
from typing import Any


def spread_by_kernel() -> bool:
    """Whether this system spreads connections across sockets sharing a port (Linux's ``SO_REUSEPORT``).

    BSD and macOS accept the option but give every connection to one of the sockets.
    """
    return sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


class WorkerSocket(socket.socket):
    """The supervisor's socket: bound, never listening; each worker gets a socket of its own."""

    @classmethod
    def reserve(cls, host: str, port: int) -> WorkerSocket:
        """Bind ``host``:``port`` with ``SO_REUSEPORT`` for workers that will listen on it.

        The address family is chosen as uvicorn chooses it: IPv6 when ``host`` holds a colon.

        Raises:
            OSError: the address cannot be bound (in use by another user's socket, unknown host).

        """
        sock = cls(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        try:
            _share_port(sock)
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        return sock

    def __reduce__(self) -> tuple[object, tuple[int, tuple[Any, ...]]]:
        """Pickled for a worker: rebuilt there by :func:`bound` on the same address."""
        return bound, (int(self.family), self.getsockname())


def bound(family: int, address: tuple[Any, ...]) -> socket.socket:
    """A new socket bound to ``address`` beside the other workers' (in a worker, on unpickling).

    It takes connections once it listens: uvicorn's server calls ``listen`` after the app's
    start-up.

    A worker that cannot bind exits with uvicorn's start-up failure code, so that the
    supervisor stops instead of replacing it again and again.
    """
    from uvicorn.config import STARTUP_FAILURE

    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        _share_port(sock)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        print(f"worker cannot bind {address}: {exc}", file=sys.stderr)
        sys.exit(STARTUP_FAILURE)
    return sock


def _share_port(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
