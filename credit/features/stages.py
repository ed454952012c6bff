"""Wall time, CPU time and peak RSS of each step of a feature build, logged at DEBUG.

``benchmarks/features.py --stages`` turns the ``credit.features.stages`` logger on to print
where a build's time goes; otherwise a step costs two clock reads.
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Log the wall and CPU seconds (every thread of the process) spent in the block, and the peak RSS after it."""
    if not log.isEnabledFor(logging.DEBUG):
        yield
        return
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    log.debug("%-44s wall %6.2f s  cpu %6.2f s  peak RSS %6.0f MB",
              name, time.perf_counter() - wall, time.process_time() - cpu, peak_mb)
