"""The bounded in-memory queue that holds rejections and shadow scores for the log."""

from usine.services.prediction_writer import HeldStatistics


def test_the_oldest_are_dropped_and_counted_beyond_the_bound_and_put_back_first() -> None:
    dropped: list[int] = []
    held = HeldStatistics[int](3, dropped.append)
    held.add([1, 2, 3, 4])
    assert dropped == [1]
    taken = held.take()
    assert taken == [2, 3, 4]
    held.add([5])
    held.put_back(taken)  # the store failed: they go back before the newer ones
    assert dropped == [1, 2]
    held.discard(lambda item: item != 4)  # an erased prediction's score
    assert held.take() == [3, 5]
    assert held.take() == []
