import pytest

from billing_portal.audit.services import Actor
from billing_portal.payments.stripe_customers import payment_method_adopt, stripe_customer_ensure
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_support_finds_payment_methods_by_stripe_customer_id(fake_stripe, org, client):
    customer = stripe_customer_ensure(org)
    fake_stripe.put(
        {
            "id": "pm_1",
            "object": "payment_method",
            "type": "card",
            "card": {"brand": "mastercard", "last4": "4444", "exp_month": 1, "exp_year": 2030},
        }
    )
    payment_method_adopt(org=org, payment_method_id="pm_1", actor=Actor.system("tests"))
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get("/admin/payments/paymentmethod/", {"q": customer})
    assert page.status_code == 200 and "4444" in page.content.decode()
    assert "4444" not in client.get("/admin/payments/paymentmethod/", {"q": "cus_nobody"}).content.decode()
    for model in ("charge", "stripeprice", "stripeeventreceipt"):
        assert client.get(f"/admin/payments/{model}/", {"q": customer}).status_code == 200
