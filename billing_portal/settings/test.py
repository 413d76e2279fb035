"""Test profile: the database comes from DATABASE_URL (SQLite when unset), mail stays in memory."""

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = None  # served from the finders; collectstatic is for production
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"per_key": "100000/min"}}  # noqa: F405
# dj-stripe's 2.10 migration spends ~50 s rendering model states. On SQLite (quick local runs) its tables are
# built from its models instead; PostgreSQL (CI) runs the real migrations, once per fresh test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    MIGRATION_MODULES = {"djstripe": None}
# Tasks queue in memory and do not run; tests call task functions directly, and the Celery tests start a real
# worker on Redis.
CELERY_BROKER_URL = "memory://"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
