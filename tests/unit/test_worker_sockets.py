"""Workers listening on sockets of their own share the connections; the supervisor's takes none."""

import pickle
import select
import socket
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from usine.cli.worker_sockets import WorkerSocket, listening, spread_by_kernel

pytestmark = pytest.mark.skipif(
    not spread_by_kernel(), reason="SO_REUSEPORT spreads connections on Linux only"
)

CONNECTIONS = 64


def accepted_per_socket(listeners: list[socket.socket], connections: int) -> list[int]:
    """Accept ``connections`` new connections from whichever listener holds them; counts per listener."""
    counts = [0] * len(listeners)
    accepted = []
    while sum(counts) < connections:
        readable, _, _ = select.select(listeners, [], [], 10)
        assert readable, f"only {sum(counts)} of {connections} connections arrived"
        for listener in readable:
            accepted.append(listener.accept()[0])
            counts[listeners.index(listener)] += 1
    for sock in accepted:
        sock.close()
    return counts


@pytest.fixture
def reserved() -> Iterator[WorkerSocket]:
    sock = WorkerSocket.reserve("127.0.0.1", 0, backlog=CONNECTIONS)
    yield sock
    sock.close()


def test_each_worker_listens_on_its_own_socket_and_the_kernel_spreads_connections(
    reserved: WorkerSocket,
) -> None:
    with ExitStack() as stack:
        # What a spawned worker gets: the supervisor's socket, pickled.
        workers = [stack.enter_context(pickle.loads(pickle.dumps(reserved))) for _ in range(2)]
        assert all(w.getsockname() == reserved.getsockname() for w in workers)
        assert all(w.fileno() != reserved.fileno() for w in workers)
        clients = [
            stack.enter_context(socket.create_connection(reserved.getsockname())) for _ in range(CONNECTIONS)
        ]
        counts = accepted_per_socket(workers, len(clients))
    # A hash of each connection's ports picks its socket: 64 connections all on one of two
    # sockets has a chance of 2**-63; fewer than 16 on one, about 3 in 100,000.
    assert min(counts) >= 16, counts


def test_the_supervisors_socket_holds_the_address_but_takes_no_connection(reserved: WorkerSocket) -> None:
    with socket.socket() as other, pytest.raises(OSError, match="in use"):
        other.bind(reserved.getsockname())  # held: a socket without SO_REUSEPORT is refused
    with ExitStack() as stack:
        worker = stack.enter_context(pickle.loads(pickle.dumps(reserved)))
        clients = [stack.enter_context(socket.create_connection(reserved.getsockname())) for _ in range(32)]
        # Had the supervisor's socket a share, some connections would wait there forever.
        assert accepted_per_socket([worker], len(clients)) == [len(clients)]


def test_a_worker_that_cannot_listen_stops_with_uvicorns_start_up_failure() -> None:
    from uvicorn.config import STARTUP_FAILURE

    with socket.socket() as other:  # bound without SO_REUSEPORT: the port is not shared
        other.bind(("127.0.0.1", 0))
        with pytest.raises(SystemExit) as stopped:
            listening(socket.AF_INET, other.getsockname(), backlog=8)
    assert stopped.value.code == STARTUP_FAILURE
