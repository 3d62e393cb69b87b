"""Python's cycle collector, run only where and when the console says: on the GUI thread.

Why: the collector runs in whichever thread happens to allocate when its threshold is
crossed. A cycle that holds a Qt object, collected on a worker thread (the embedded feed
server's, the insights worker's, a thread pool's), destroys that object off the GUI
thread, and Qt crashes: a test run died with "Garbage-collecting" on the embedded
server's thread while the GUI thread was building a chart. So automatic collection is
switched off (``take_over``) and the GUI thread calls ``collect_due`` from a timer (the
app, main.py) or between tests (tests/conftest.py): it collects the generations whose
thresholds are crossed, as the automatic collector would, only later and on that thread.
"""

from __future__ import annotations

import gc

_THRESHOLD = gc.get_threshold()


def take_over() -> None:
    """Automatic collection off for good; ``collect_due`` does it from now on."""
    gc.disable()


def collect_due() -> int:
    """Collect each generation whose threshold is crossed; returns the objects found."""
    found = 0
    g0, g1, g2 = gc.get_count()
    if g0 > _THRESHOLD[0]:
        found += gc.collect(0)
        if g1 > _THRESHOLD[1]:
            found += gc.collect(1)
            if g2 > _THRESHOLD[2]:
                found += gc.collect(2)
    return found
