"""`manage.py create_api_key`: prints a working key once, alone on stdout."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from billing_portal.api.models import ApiKey
from tests.api.helpers import paying_org

pytestmark = pytest.mark.django_db


def create_api_key(*args):
    out, err = StringIO(), StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_a_live_usage_key_by_default_that_works_at_once():
    org = paying_org()
    secret, note = create_api_key("--org", org.slug)
    assert secret.startswith("bp_live_") and "\n" not in secret
    key = ApiKey.objects.get(org=org)
    assert key.scopes == ["usage"] and key.prefix in note and secret not in note
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get(reverse("credits")).status_code == 200
    assert client.get(reverse("api-billing")).status_code == 403


def test_a_test_key_with_chosen_scopes():
    org = paying_org()
    secret, _ = create_api_key("--org", org.slug, "--test", "--scopes", "billing:read, billing:write")
    assert secret.startswith("bp_test_")
    assert ApiKey.objects.get(org=org).scopes == ["billing:read", "billing:write"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--org", "nobody"), "No organization"),
        (("--scopes", "usage,admin"), "Unknown: admin"),
        (("--scopes", ","), "Required."),
    ],
)
def test_mistakes_are_command_errors_and_create_nothing(args, message):
    org = paying_org()
    with pytest.raises(CommandError, match=message):
        create_api_key(*(("--org", org.slug) if args[0] != "--org" else ()), *args)
    assert not ApiKey.objects.exists()
