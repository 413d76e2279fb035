"""Settings for the metering benchmark only: `make run`'s settings without DEBUG, plus a URLconf that adds the
baseline view."""

from billing_portal.settings.dev import *  # noqa: F403 (static files from the finders: no collectstatic)
from billing_portal.settings.dev import REST_FRAMEWORK

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "bench.metering_urls"
# The benchmark measures the hot path, not the rate limiter's ceiling (it stays on, just out of reach).
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"per_key": "100000000/min"}}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
