"""Settings for the test run: production's settings, spoken to over plain HTTP.

The test client and the live test server use http://, so the HTTPS redirect and secure
cookies are off here; everything else is what production runs.
"""

import os
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("DJANGO_HTTPS", "off")
# The webhooks are closed without a secret; tests sign with these (tests/webhooks.py).
os.environ.setdefault("WAHA_WEBHOOK_SECRET", "waha-test-secret-for-the-suite-only")
os.environ.setdefault("MOLTFLOW_WEBHOOK_SECRET", "moltflow-test-secret-for-the-suite-only")


def worker_redis_url(redis_url: str, worker: str) -> str:
    """The Redis database of one pytest-xdist worker: REDIS_URL's for gw0, the next for gw1...

    Every test empties the cache (tests/conftest.py), and emptying a Redis cache empties its
    whole database: two workers sharing one would wipe each other's reads mid-test. The
    database number is the URL's path (`redis://host:6379/9`; none means 0).
    """
    if not worker.startswith("gw"):
        return redis_url
    parts = urlsplit(redis_url)
    database = int(parts.path.strip("/") or 0) + int(worker.removeprefix("gw"))
    return urlunsplit(parts._replace(path=f"/{database}"))


# Set in the environment, not only in CACHES: the servers some tests start as subprocesses
# (`dev.sh prod`, runserver, gunicorn) inherit it and share this worker's database.
if os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = worker_redis_url(
        os.environ["REDIS_URL"], os.environ.get("PYTEST_XDIST_WORKER", "")
    )

from dashboard.settings import *  # noqa: E402, F403
from dashboard.settings import STORAGES  # noqa: E402

# Hashed static names need `collectstatic` first; tests use the files where they are.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Hashing a password the production way costs ~0.3 s; tests log many users in.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Nothing is collected for tests: WhiteNoise finds the files in static/ and the apps.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
# Imports run when a test says so (`run_imports`, or a test that turns the worker thread on):
# a thread of its own would race the test's transaction.
IMPORT_WORKER = False

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not Django's shared in-memory database: the live server's threads then open
    # connections of their own. Sharing the test's one connection, two browser requests at
    # once misused it now and then ("bad parameter or other API misuse" reading a session,
    # a tab sent to the sign-in page mid-test). pytest-django adds each xdist worker's
    # suffix; .gitignore's `db.sqlite3*` keeps the files out of git.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "db.sqlite3.test")}  # noqa: F405
