"""CPU seconds and resident memory of a process, read from Linux's /proc (no psutil)."""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by `pid` (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` in MB."""
    resident_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return resident_pages * _PAGE / 1e6


def own_cpu_seconds() -> float:
    """CPU seconds used so far by this process."""
    times = os.times()
    return times.user + times.system


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
