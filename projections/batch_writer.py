"""Writing the projector's batches on a thread of their own, so that PostgreSQL applies one
batch (in its own process, on another core) while the projector decodes and folds the next.

One batch at a time, in the order submitted: ``submit`` hands a batch over only once the
batch before it has committed, so at most one batch is in flight and the fold is never more
than one batch ahead of what is committed. Each batch is still one transaction with the
offsets it consumed (``store.write_batch``), so a crash at any point leaves the schema at
the end of some batch, which is where a restart resumes.

A write that fails is raised, with its own traceback, by the next ``submit`` or ``drain``;
from then on the writer takes nothing more, so neither the failed batch nor any folded
after it is ever written. The projector then stops, and what it folded in memory is gone
with it: a restart reloads the state from the last commit.

While a batch is in flight its connection belongs to the writer: the projector calls
``drain`` before it uses that connection itself.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

from projections.errors import ProjectionError

__all__ = ["BatchWriter"]

T = TypeVar("T")


class BatchWriter(Generic[T]):
    """Runs ``write(batch)`` for each submitted batch on one background thread, in order.

    Args:
        write: writes and commits one batch; whatever it raises is raised to the caller.
    """

    def __init__(self, write: Callable[[T], None]) -> None:
        self._write = write
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight: tuple[Future[None], T] | None = None
        self._failed: BaseException | None = None
        self._closed = False

    def submit(self, batch: T) -> list[T]:
        """Wait until the batch in flight has committed, then start writing ``batch``.

        Returns the batch that committed meanwhile (none or one), for progress reports.

        Raises:
            whatever the write of the batch in flight raised; ``ProjectionError`` if an
            earlier write failed or the writer is closed.
        """
        done = self.drain()
        if self._closed:
            raise ProjectionError("the batch writer is closed")
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="projector-writer")
        self._in_flight = (self._pool.submit(self._write, batch), batch)
        return done

    def drain(self) -> list[T]:
        """Wait until every submitted batch has committed; the one that did (none or one).

        Raises:
            as ``submit``.
        """
        if self._failed is not None:
            raise ProjectionError(
                "an earlier batch failed to commit; the writer takes no more"
            ) from self._failed
        if self._in_flight is None:
            return []
        future, batch = self._in_flight
        self._in_flight = None
        try:
            future.result()
        except BaseException as exc:
            self._failed = exc
            raise
        return [batch]

    @property
    def busy(self) -> bool:
        """Whether a batch is in flight (its connection is the writer's)."""
        return self._in_flight is not None

    def close(self) -> BaseException | None:
        """Let the batch in flight finish, committed or not, and stop the thread.

        Returns what that batch's write raised, if it failed (``drain`` first to have it
        raised instead): a caller already handling another error can still report it.
        """
        failure = None
        if self._in_flight is not None:
            future, _ = self._in_flight
            self._in_flight = None
            failure = future.exception()
            self._failed = self._failed or failure
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._closed = True
        return failure
