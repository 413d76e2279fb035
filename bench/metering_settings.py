"""Settings for the metering benchmark only: base settings plus a URLconf that adds the baseline view."""

from billing_portal.settings.base import *  # noqa: F403
from billing_portal.settings.base import REST_FRAMEWORK

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "bench.metering_urls"
# The benchmark measures the hot path, not the rate limiter's ceiling (it stays on, just out of reach).
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"per_key": "100000000/min"}}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
