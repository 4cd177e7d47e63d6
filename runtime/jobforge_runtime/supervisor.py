"""A worker's main process for frameworks that run one job per process: fork, pass signals, reap.

RQ and procrastinate (as the runtime runs it) execute one job at a time per process. The
worker's main process forks ``concurrency`` framework workers, each of which dies with it
(:func:`die_with_parent`), restarts one that dies, passes SIGTERM and SIGINT on (each framework
worker stops warmly: it finishes its job), runs the runtime's reaper and any extra loops, and
exits when every child has.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from jobforge_runtime.logs import log_event
from jobforge_runtime.recovery import Reaper, worker_name
from jobforge_runtime.runtime import Runtime

#: A loop run in a thread of the main process until the event is set.
Loop = Callable[[threading.Event], None]


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies; elsewhere watch the parent."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0:  # PR_SET_PDEATHSIG
            if os.getppid() != parent:  # the parent died before the request
                os._exit(1)
            return
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def supervise(
    runtime: Runtime,
    *,
    queue: str,
    concurrency: int,
    child: Callable[[], None],
    loops: Sequence[Loop] = (),
) -> None:
    """Run ``child`` in ``concurrency`` forked processes until SIGTERM or SIGINT (see module)."""
    children: set[int] = set()
    stopping = threading.Event()

    def fork_one() -> None:
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                die_with_parent()  # a killed main process takes its workers (and their horses)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                child()
            except BaseException:
                code = 1
                runtime.logger.exception("framework worker failed")
            finally:
                os._exit(code)
        children.add(pid)

    def stop(signum: int, _frame: Any) -> None:
        stopping.set()
        for pid in list(children):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                children.discard(pid)

    for _ in range(concurrency):
        fork_one()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    reaper = Reaper(runtime, worker=worker_name()).start()
    threads = [threading.Thread(target=loop, args=(stopping,), daemon=True) for loop in loops]
    for thread in threads:
        thread.start()
    pids = " ".join(str(pid) for pid in sorted(children))
    log_event(
        runtime.logger,
        "worker_ready",
        f"worker ready: main pid {os.getpid()}, worker pids {pids}",
        queue=queue,
        worker=worker_name(),
    )
    try:
        while children:
            try:
                pid, _status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            children.discard(pid)
            if not stopping.is_set():
                log_event(runtime.logger, "worker_restarted", f"worker pid {pid} died")
                fork_one()
    finally:
        stopping.set()
        reaper.stop()
        for thread in threads:
            thread.join(timeout=2)
