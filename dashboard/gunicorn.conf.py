"""gunicorn settings `bash dev.sh prod` runs with (workers, threads and address come from dev.sh).

Requests are logged to stdout, with wall tokens redacted (dashboard/gunicorn_logging.py).
"""

accesslog = "-"
errorlog = "-"
logger_class = "dashboard.gunicorn_logging.RedactingLogger"
