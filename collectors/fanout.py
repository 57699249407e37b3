"""Run many (account, region, collector) tasks at once, within limits.

Concurrency is capped by a semaphore, each API operation by a per account and
region rate limiter, each task by a timeout. Retries with jittered backoff
are botocore's own (``standard`` or ``adaptive`` mode, set in the client
factory). A failure becomes an :class:`~collectors.model.ErrorRecord` or,
for expected conditions, a :class:`~collectors.model.StateRecord`; it never
stops the other tasks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from collectors.errors import classify
from collectors.model import ErrorKind, ErrorRecord, StateRecord

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


class RateLimiter:
    """Spaces calls with the same key at most ``rate`` per second."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Start with no history."""
        self.clock = clock
        self._next: dict[str, float] = {}
        self.waits = 0

    async def wait(self, key: str, rate: float) -> None:
        """Sleep until a call under ``key`` is allowed."""
        if rate <= 0:
            return
        now = self.clock()
        slot = max(now, self._next.get(key, now))
        self._next[key] = slot + 1.0 / rate
        if slot > now:
            self.waits += 1
            await asyncio.sleep(slot - now)


@dataclass
class Job:
    """One task: which collector, account and region, and the work to do."""

    collector: str
    account_id: str
    region: str
    run: Callable[[], Awaitable[object]]
    operation: Callable[[], str] = lambda: ""
    on_expired: Callable[[], Awaitable[None]] | None = None


@dataclass
class Outcome:
    """The result of one job: data, an error record or a state record."""

    job: Job
    data: object = None
    error: ErrorRecord | None = None
    state: StateRecord | None = None


async def run_jobs(
    jobs: Sequence[Job],
    *,
    concurrency: int,
    timeout: float,
    progress: Progress | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run every job concurrently and return one outcome per job, in order.

    ``on_outcome`` is called with each outcome as soon as its job ends.
    """
    semaphore = asyncio.Semaphore(concurrency)
    done = 0
    total = len(jobs)
    if progress:
        progress(0, total)

    async def run_one(job: Job) -> Outcome:
        nonlocal done
        async with semaphore:
            outcome = await _attempt(job, timeout)
        done += 1
        if on_outcome:
            on_outcome(outcome)
        if progress:
            progress(done, total)
        return outcome

    return list(await asyncio.gather(*(run_one(job) for job in jobs)))


async def _attempt(job: Job, timeout: float) -> Outcome:
    for attempt in range(2):
        try:
            data = await asyncio.wait_for(job.run(), timeout)
            return Outcome(job, data=data)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - every failure becomes a record
            # Only the record is kept, so drop the traceback. On Python 3.11,
            # wait_for leaves the error and the job's task in a reference
            # cycle through the traceback, whose frames hold the job's context
            # and the collector's previous section. The task of a long job is
            # in the oldest generation, so the cycle would wait for a full
            # garbage collection.
            error.__traceback__ = None
            result = classify(error)
            expired = result.kind is ErrorKind.EXPIRED_CREDENTIALS
            if expired and attempt == 0 and job.on_expired is not None:
                log.info(
                    "credentials expired for %s %s, renewing",
                    job.account_id,
                    job.region,
                )
                await job.on_expired()
                continue
            operation = getattr(error, "operation_name", "") or job.operation()
            if result.state is not None:
                state = StateRecord(
                    result.state, job.account_id, job.region, job.collector, result.code
                )
                return Outcome(job, state=state)
            assert result.kind is not None
            log.warning(
                "%s failed for account %s region %s: %s %s (%s)",
                job.collector,
                job.account_id,
                job.region,
                operation,
                result.code,
                result.kind,
            )
            record = ErrorRecord(
                result.kind,
                job.account_id,
                job.region,
                job.collector,
                operation,
                result.message,
                code=result.code,
            )
            return Outcome(job, error=record)
    raise AssertionError("unreachable")
