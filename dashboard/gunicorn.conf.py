"""gunicorn settings `bash dev.sh prod` runs with (workers, threads and address come from dev.sh).

Requests are logged to stdout, with wall tokens redacted (dashboard/gunicorn_logging.py).
Each worker may hold open screens' polls on all its threads but a few (leads.live_lane).
"""

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
