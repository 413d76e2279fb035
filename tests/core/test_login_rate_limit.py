import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_repeated_wrong_passwords_lock_out_that_account_from_that_address():
    user = UserFactory(email="target@example.com")
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(4):
        response = client.post(reverse("login"), {"username": user.email, "password": "wrong"})
        assert response.status_code == 200  # the form says the password is wrong
    assert client.post(reverse("login"), {"username": user.email, "password": "wrong"}).status_code == 429
    locked = client.post(reverse("login"), {"username": user.email, "password": "pw-for-tests-1"})
    assert locked.status_code == 429 and b"Too many sign-in attempts" in locked.content
    assert "_auth_user_id" not in client.session
    # Another address is not locked out, and signs in with the right password.
    other = Client(REMOTE_ADDR="198.51.100.7")
    assert other.post(reverse("login"), {"username": user.email, "password": "pw-for-tests-1"}).status_code == 302


def test_a_successful_sign_in_resets_the_count():
    user = UserFactory(email="forgetful@example.com")
    client = Client(REMOTE_ADDR="203.0.113.10")
    for _ in range(4):
        client.post(reverse("login"), {"username": user.email, "password": "wrong"})
    assert client.post(reverse("login"), {"username": user.email, "password": "pw-for-tests-1"}).status_code == 302
    client.logout()
    for _ in range(4):
        client.post(reverse("login"), {"username": user.email, "password": "wrong"})
    assert client.post(reverse("login"), {"username": user.email, "password": "pw-for-tests-1"}).status_code == 302
