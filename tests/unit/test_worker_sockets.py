"""Workers on sockets of their own share the connections; a socket not listening yet takes none."""

import pickle
import select
import socket
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from usine.cli.worker_sockets import WorkerSocket, bound, spread_by_kernel

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
    sock = WorkerSocket.reserve("127.0.0.1", 0)
    yield sock
    sock.close()


def in_worker(reserved: WorkerSocket, stack: ExitStack) -> socket.socket:
    """What a spawned worker gets: the supervisor's socket, pickled."""
    return stack.enter_context(pickle.loads(pickle.dumps(reserved)))


def connected(reserved: WorkerSocket, stack: ExitStack, count: int) -> list[socket.socket]:
    return [stack.enter_context(socket.create_connection(reserved.getsockname())) for _ in range(count)]


def test_each_worker_has_a_socket_of_its_own_and_the_kernel_spreads_connections(
    reserved: WorkerSocket,
) -> None:
    with ExitStack() as stack:
        workers = [in_worker(reserved, stack) for _ in range(2)]
        assert all(w.getsockname() == reserved.getsockname() for w in workers)
        for worker in workers:
            worker.listen(CONNECTIONS)  # as uvicorn does once the worker's app has started
        counts = accepted_per_socket(workers, len(connected(reserved, stack, CONNECTIONS)))
    # A hash of each connection's ports picks its socket: 64 connections all on one of two
    # sockets has a chance of 2**-63; fewer than 16 on one, about 3 in 100,000.
    assert min(counts) >= 16, counts


def test_only_listening_workers_take_connections_not_the_supervisor_nor_a_worker_starting(
    reserved: WorkerSocket,
) -> None:
    with socket.socket() as other, pytest.raises(OSError, match="in use"):
        other.bind(reserved.getsockname())  # held: a socket without SO_REUSEPORT is refused
    with ExitStack() as stack:
        serving, starting = in_worker(reserved, stack), in_worker(reserved, stack)
        serving.listen(CONNECTIONS)
        # Had the supervisor or the worker still starting a share, some would wait there forever.
        assert accepted_per_socket([serving], len(connected(reserved, stack, 32))) == [32]
        starting.listen(CONNECTIONS)
        assert min(accepted_per_socket([serving, starting], len(connected(reserved, stack, 32)))) > 0


def test_a_worker_that_cannot_bind_stops_with_uvicorns_start_up_failure() -> None:
    from uvicorn.config import STARTUP_FAILURE

    with socket.socket() as other:  # bound without SO_REUSEPORT: the port is not shared
        other.bind(("127.0.0.1", 0))
        with pytest.raises(SystemExit) as stopped:
            bound(socket.AF_INET, other.getsockname())
    assert stopped.value.code == STARTUP_FAILURE
