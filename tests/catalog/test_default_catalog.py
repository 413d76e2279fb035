import pytest

from billing_portal.catalog.models import Plan
from billing_portal.catalog.selectors import entitlements_for, plan_price, signup_plan
from billing_portal.core.errors import InvalidInput
from billing_portal.core.money import Money

pytestmark = pytest.mark.django_db

# The table, restated independently of the migration that loads it.
EXPECTED = {
    #            month   year     seat_m  seat_y  tool      tokens       api         members sessions grace model
    "free":     (0,      0,       0,      0,      1_000,    100_000,     50_000,     1,    3,    10, "per_member"),
    "starter":  (1_900,  17_100,  0,      0,      10_000,   1_000_000,   500_000,    3,    10,   15, "per_member"),
    "pro":      (4_900,  44_100,  0,      0,      50_000,   10_000_000,  2_000_000,  10,   25,   20, "per_member"),
    "team":     (4_900,  46_800,  1_200,  12_000, 100_000,  50_000_000,  5_000_000,  50,   50,   20, "pooled"),
    "business": (14_900, 134_100, 0,      0,      100_000,  100_000_000, 10_000_000, 25,   100,  20, "pooled"),
    "enterprise": (0,    0,       0,      0,      None,     None,        None,       None, None, 0,  "pooled"),
}


@pytest.mark.parametrize("code", EXPECTED)
def test_catalog_migration_loads_the_table(code):
    plan = Plan.objects.get(code=code)
    month, year, seat_m, seat_y, tools, tokens, api, members, sessions, grace, model = EXPECTED[code]
    usd = plan_price(plan, "USD")
    assert (usd.price_month, usd.price_year, usd.seat_price_month, usd.seat_price_year) == (month, year, seat_m, seat_y)
    ent = entitlements_for(plan=plan)
    assert ent.quotas == {"tool_calls": tools, "ai_tokens": tokens, "api_requests": api}
    assert (ent.limit_members, ent.limit_concurrent_sessions, ent.grace_pct, ent.pooled_credits) == (
        members, sessions, grace, model == "pooled"
    )


def test_team_credits_and_contact_sales():
    team = entitlements_for(plan=Plan.objects.get(code="team"))
    assert team.pooled_allotment(seats=5) == 8_000 + 5 * 1_000
    enterprise = Plan.objects.get(code="enterprise")
    assert enterprise.is_contact_sales
    assert list(Plan.objects.order_by("display_order").values_list("code", flat=True)) == list(EXPECTED)


def test_grace_buffer_and_unlimited():
    pro = entitlements_for(plan=Plan.objects.get(code="pro"))
    assert pro.hard_limit("tool_calls") == 60_000
    assert entitlements_for(plan=Plan.objects.get(code="enterprise")).hard_limit("tool_calls") is None


def test_sign_up_plan_is_free_unless_flagged():
    assert signup_plan().code == "free"
    Plan.objects.filter(code="pro").update(is_signup_trial=True)
    assert signup_plan().code == "pro"


def test_prices_per_currency_and_yearly_saving():
    team = Plan.objects.get(code="team")
    # Team yearly: $39/month base and $10/seat/month, billed yearly
    assert plan_price(team, "USD").base("year") == Money(46_800, "USD")
    assert plan_price(team, "USD").seat("year") == Money(12_000, "USD")
    assert plan_price(team, "USD").yearly_saving(seats=1) == Money((4_900 + 1_200) * 12 - (46_800 + 12_000), "USD")
    assert plan_price(Plan.objects.get(code="pro"), "JPY").base("month") == Money(7_400, "JPY")
    assert plan_price(Plan.objects.get(code="free"), "EUR").is_free
    with pytest.raises(InvalidInput):
        plan_price(team, "KRW")
