"""Reading ahead in a thread (textio.prefetched): same items, same order, errors where
they happened, and a producer that stops when the consumer does."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from rse_adoption.ingest.textio import prefetched


def test_items_arrive_all_and_in_order() -> None:
    assert list(prefetched(iter(range(1000)), depth=2)) == list(range(1000))


def test_an_error_of_the_producer_is_raised_at_its_item() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("truncated file")

    seen = []
    with pytest.raises(ValueError, match="truncated file"):
        for item in prefetched(items(), depth=2):
            seen.append(item)
    assert seen == [1, 2]


def test_closing_early_stops_the_producer() -> None:
    produced = []
    finished = threading.Event()

    def items() -> Iterator[int]:
        try:
            for i in range(10_000):
                produced.append(i)
                yield i
        finally:
            finished.set()

    reader = prefetched(items(), depth=2)
    assert next(reader) == 0
    reader.close()  # joins the producer: it is not left running
    assert len(produced) <= 4 and not any(t.name == "prefetch" for t in threading.enumerate())


@pytest.mark.parametrize("ending", ["exhausted", "failed"])
def test_closing_after_the_producer_finished_does_not_wait_forever(ending: str) -> None:
    """The producer has read everything (or failed) and waits for room for its last word
    when the consumer stops: closing must still return."""

    def items() -> Iterator[int]:
        yield from range(3)
        if ending == "failed":
            raise OSError("disk full")

    reader = prefetched(items(), depth=2)
    assert next(reader) == 0
    closer = threading.Thread(target=reader.close, daemon=True)
    closer.start()
    closer.join(timeout=5)
    assert not closer.is_alive()
