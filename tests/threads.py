"""Many writers at once, as the guide asks every write path to be tested: `count` threads released
together by a barrier, each running `work(n)`; whatever they raise is returned, not lost."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_together(
    work: Callable[[int], object], count: int = 16, *, also: Callable[[], object] | None = None
) -> list[BaseException]:
    """Run `work(0)` … `work(count - 1)` in threads started at the same moment (and `also()` in
    this thread at that moment too); the exceptions they raised."""
    barrier = threading.Barrier(count + (1 if also else 0))
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            barrier.wait()
            work(n)
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    try:
        if also is not None:
            barrier.wait()
            also()
    finally:
        for thread in threads:
            thread.join()
    return errors
