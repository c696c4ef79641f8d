"""Test settings: real PostgreSQL and Redis, a separate Redis database for the broker."""

import os

from config import embedded
from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, REDIS_URL, env

# Several test runs may share one machine's services (developers, helpers, CI): each run
# gets its own test database and Redis database. Worker processes started by the tests
# inherit ASSAY_REDIS_DB from the environment and get the database name explicitly.
os.environ.setdefault("ASSAY_TEST_RUN", str(os.getpid()))
os.environ.setdefault("ASSAY_REDIS_DB", str(1 + os.getpid() % 15))
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
