"""A minimal progress bar: tqdm when installed (the ``figures`` extra), else a stderr counter."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager

__all__ = ["progress_bar"]


class _TextBar:
    def __init__(self, total: int, desc: str) -> None:
        self.total, self.desc, self.n = total, desc, 0
        self.t0 = time.perf_counter()
        self.tty = sys.stderr.isatty()

    def update(self, k: int = 1) -> None:
        self.n += k
        if self.tty or self.n == self.total or self.n % max(1, self.total // 10) == 0:
            el = time.perf_counter() - self.t0
            end = "\r" if self.tty and self.n < self.total else "\n"
            sys.stderr.write(f"{self.desc}: {self.n}/{self.total} ({el:.1f} s){end}")
            sys.stderr.flush()


class _NoBar:
    def update(self, k: int = 1) -> None:
        pass


@contextmanager
def progress_bar(total: int, desc: str, enabled: bool = True):
    """Context manager yielding an object with ``update(k)``; silent when ``enabled`` is False."""
    if not enabled:
        yield _NoBar()
        return
    try:
        from tqdm.auto import tqdm
    except ImportError:
        yield _TextBar(total, desc)
        return
    with tqdm(total=total, desc=desc, file=sys.stderr, disable=None) as bar:
        yield bar
