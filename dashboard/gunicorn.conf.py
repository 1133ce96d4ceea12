"""gunicorn settings `bash dev.sh prod` runs with (workers, threads and address come from dev.sh).

Requests are logged to stdout, with wall tokens redacted (dashboard/gunicorn_logging.py).
Each worker may hold open screens' polls on all its threads but a few (leads.live_lane).
"""

import signal
import threading
from typing import Any

accesslog = "-"
errorlog = "-"
logger_class = "dashboard.gunicorn_logging.RedactingLogger"


def post_worker_init(worker: Any) -> None:
    from leads.live_lane import MEMORY, PAGES, hold_limit_for

    threads = worker.cfg.threads
    MEMORY.hold_limit = hold_limit_for(threads)
    if MEMORY.hold_limit:
        PAGES.limit(max(1, threads - MEMORY.hold_limit))

    # A graceful stop (SIGTERM: a restart, a deploy) waits for the worker's open requests:
    # the held polls are answered at once instead of at the end of their hold. From its own
    # thread: the handler runs in the worker's main thread, between its own steps.
    graceful_stop = signal.getsignal(signal.SIGTERM)

    def on_stop(signum: int, frame: Any) -> None:
        threading.Thread(target=MEMORY.stop_holding, name="live-stop-holding").start()
        if callable(graceful_stop):
            graceful_stop(signum, frame)

    signal.signal(signal.SIGTERM, on_stop)
    signal.siginterrupt(signal.SIGTERM, False)  # as gunicorn had it: requests not interrupted
