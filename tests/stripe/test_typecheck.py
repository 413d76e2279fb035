"""The Stripe adapter (and the Stripe JSON readers it uses) type-check strictly against the stripe package."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = ["billing_portal/payments/stripe_adapter.py", "billing_portal/payments/stripe_objects.py"]


def test_stripe_adapter_passes_mypy_strict():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *MODULES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
