"""An owner clicks through the billing pages; a member finds none of them."""

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from accounts.models import User
from invoices.models import Invoice, InvoiceKind
from metering.selectors import credit_balance
from tests.browser.conftest import sign_in
from tests.factories import add_member, make_org

PASSWORD = "browser-pass-1"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def team():
    owner = User.objects.create_user(email="owner@browser.test", password=PASSWORD, full_name="Olive Owner")
    org = make_org(name="Browser Co", plan="team", owner=owner)
    member = User.objects.create_user(email="member@browser.test", password=PASSWORD)
    add_member(org, user=member)
    return org


def test_owner_walks_every_billing_page(page, screenshot, team):
    sign_in(page, "owner@browser.test", PASSWORD)
    assert page.locator("h2", has_text="Plan").first.is_visible()
    screenshot("overview")

    page.click("nav.tabs >> text=Plans")
    monthly_price = page.locator("[data-plan=business] .price[data-for=month]")
    yearly_price = page.locator("[data-plan=business] .price[data-for=year]")
    assert monthly_price.is_visible() and not yearly_price.is_visible()
    page.click(".interval-toggle >> text=Yearly")
    assert yearly_price.is_visible() and not monthly_price.is_visible()
    assert "You save" in yearly_price.inner_text()
    screenshot("plans-yearly")
    page.click(".interval-toggle >> text=Monthly")

    page.click("[data-plan=business] .plan-action[data-for=month] >> text=Upgrade")
    amount = page.get_by_test_id("amount-due").inner_text()
    screenshot("plan-change-preview")
    page.click("button.primary >> text=Pay")
    page.wait_for_load_state("networkidle")
    assert "You are now on Business" in page.inner_text(".messages")
    upgrade = Invoice.objects.get(org=team, kind=InvoiceKind.UPGRADE)
    assert upgrade.money("total").format() == amount

    page.click("nav.tabs >> text=Credits")
    before = credit_balance(org=team).total
    page.check("input[name=pack][value=credits-1k]")
    page.click("text=Buy top-up")
    page.wait_for_load_state("networkidle")
    assert "1,000 credits added" in page.inner_text(".messages")
    assert credit_balance(org=team).total == before + 1_000
    assert page.get_by_test_id("credit-balance").inner_text() == f"{before + 1_000:,}"
    screenshot("credits")

    page.click("nav.tabs >> text=Invoices")
    screenshot("invoices")
    with page.expect_download() as download_info:
        page.locator("tr", has_text=upgrade.number).locator("text=Download PDF").click()
    pdf = PdfReader(io.BytesIO(Path(download_info.value.path()).read_bytes()))
    text = "".join(p.extract_text() for p in pdf.pages)
    assert upgrade.number in text and amount in text

    page.click("nav.tabs >> text=Members")
    page.fill("input[name=email]", "newbie@browser.test")
    page.select_option("select[name=role]", "member")
    page.click("text=Send invitation")
    page.wait_for_load_state("networkidle")
    assert "newbie@browser.test" in page.inner_text("section.cards")
    assert page.get_by_test_id("invite-link").is_visible()
    screenshot("members")

    for tab in ("Usage", "Payment", "Activity"):
        page.click(f"nav.tabs >> text={tab}")
        screenshot(tab.lower())

    page.click("nav.tabs >> text=Plans")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("text=Cancel plan")
    page.wait_for_load_state("networkidle")
    assert "Canceled. You move to the Free plan on" in page.inner_text(".messages")
    assert "moves to Free on" in page.inner_text(".banner")
    screenshot("plans-canceling")
    page.click("text=Keep Business")
    page.wait_for_load_state("networkidle")
    assert "you stay on Business" in page.inner_text(".messages")
    team.subscription.refresh_from_db()
    assert team.subscription.cancel_at_period_end is False


def test_a_member_finds_no_billing_pages(page, screenshot, team):
    sign_in(page, "member@browser.test", PASSWORD)
    assert page.locator("nav.tabs").count() == 0
    assert page.locator("a[href^='/billing/']").count() == 0
    screenshot("member-home")
    response = page.goto("/billing/")
    assert response.status == 403
    assert page.goto("/billing/invoices/").status == 403
