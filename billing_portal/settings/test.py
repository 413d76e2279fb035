"""Test profile: the database comes from DATABASE_URL (SQLite when unset), mail stays in memory."""

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
WHITENOISE_USE_FINDERS = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"per_key": "100000/min"}}  # noqa: F405
# dj-stripe's 2.10 migration spends ~50 s rendering model states; its tables are built from its models instead.
# Nothing of ours has a foreign key into djstripe, so no migration of ours depends on it.
MIGRATION_MODULES = {"djstripe": None}
