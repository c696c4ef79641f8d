"""Test settings: real PostgreSQL and Redis, a separate Redis database for the broker."""

import os

import redis

from config import embedded
from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, REDIS_URL, env

# Several test runs may share one machine's services (developers, helpers, CI): each run
# gets its own test database and Redis database. Worker processes started by the tests
# inherit ASSAY_REDIS_DB from the environment and get the database name explicitly.
os.environ.setdefault("ASSAY_TEST_RUN", str(os.getpid()))


def _claim_broker_db() -> int:
    """A Redis database no other running test run uses (two runs sharing one would purge
    each other's queues). Claimed in database 0 with SET NX under this process's id; a
    claim whose process is gone is taken over; released when this process exits."""
    import atexit

    client = redis.Redis.from_url(REDIS_URL) if REDIS_URL else redis.Redis.from_url(embedded.redis_url(db=0))
    pid = str(os.getpid())
    release = client.register_script("if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) end")
    for db in range(1, 16):
        key = f"assay:test-broker-db:{db}"
        holder = client.get(key)
        if holder is not None and not embedded.pid_alive(int(holder)):
            release(keys=[key], args=[holder])
        if client.set(key, pid, nx=True, ex=24 * 3600):
            atexit.register(lambda key=key: release(keys=[key], args=[pid]))
            return db
    raise RuntimeError("Every test broker database (1-15) is claimed by a running test run.")


if "ASSAY_REDIS_DB" not in os.environ:  # worker processes started by the tests inherit it
    try:
        os.environ["ASSAY_REDIS_DB"] = str(_claim_broker_db())
    except (OSError, redis.exceptions.RedisError):  # no Redis running: tests that need the broker will say so
        os.environ["ASSAY_REDIS_DB"] = "1"
DATABASES["default"]["TEST"] = {"NAME": f"test_assay_{os.environ['ASSAY_TEST_RUN']}"}

SECRET_KEY = "assay-test-key"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_BROKER_URL = REDIS_URL or embedded.broker_url(db=env.int("ASSAY_REDIS_DB", default=1))
# Tests fetch pages from servers they run on 127.0.0.1.
FETCH_ALLOW_PRIVATE = True
# No collected static files in tests; WhiteNoise would warn about the missing folder.
MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING["root"]["level"] = env("LOG_LEVEL", default="WARNING")  # noqa: F405
