"""Reads of the plan catalog, and the one place that merges a plan with an org's overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Prefetch, prefetch_related_objects

from billing_portal.catalog.models import Plan, PlanPrice, PlanQuota, QuotaOverride
from billing_portal.core.errors import InvalidInput

if TYPE_CHECKING:
    from accounts.models import Organization


@dataclass(frozen=True)
class Entitlements:
    plan_code: str
    quotas: dict[str, int | None]  # meter code -> monthly quota; None (or no entry) means unlimited
    grace_pct: int
    limit_members: int | None
    limit_spaces: int | None
    limit_concurrent_sessions: int | None
    limit_storage_mb: int | None
    pooled_credits: bool
    credit_allotment: int
    credit_per_seat: int
    features: frozenset[str] = field(default_factory=frozenset)

    def quota(self, meter: str) -> int | None:
        return self.quotas.get(meter)

    def hard_limit(self, meter: str) -> int | None:
        """The quota plus the grace buffer; calls above it are blocked."""
        quota = self.quota(meter)
        if quota is None:
            return None
        return quota + quota * self.grace_pct // 100

    def pooled_allotment(self, seats: int) -> int:
        return self.credit_allotment + self.credit_per_seat * seats


def plan_features(plan: Plan) -> frozenset[str]:
    flags = {
        "sso": plan.feature_sso,
        "scim": plan.feature_scim,
        "custom_limits": plan.feature_custom_limits,
        "priority_support": plan.feature_priority_support,
    }
    return frozenset(name for name, enabled in flags.items() if enabled)


def plan_quotas(plan: Plan) -> dict[str, int | None]:
    # One query, kept on the plan; none when the plan comes prefetched (the catalog pages load them so).
    prefetch_related_objects([plan], Prefetch("quotas", queryset=PlanQuota.objects.select_related("meter")))
    return {quota.meter.code: quota.monthly_quota for quota in plan.quotas.all()}


def entitlements_for(*, plan: Plan, org: Organization | None = None) -> Entitlements:
    quotas = plan_quotas(plan)
    if org is not None:
        quotas.update(
            {o.meter.code: o.monthly_quota for o in QuotaOverride.objects.filter(org=org).select_related("meter")}
        )
    return Entitlements(
        plan_code=plan.code,
        quotas=quotas,
        grace_pct=plan.grace_pct,
        limit_members=plan.limit_members,
        limit_spaces=plan.limit_spaces,
        limit_concurrent_sessions=plan.limit_concurrent_sessions,
        limit_storage_mb=plan.limit_storage_mb,
        pooled_credits=plan.pooled_credits,
        credit_allotment=plan.credit_allotment,
        credit_per_seat=plan.credit_per_seat,
        features=plan_features(plan),
    )


def plan_price(plan: Plan, currency: str) -> PlanPrice:
    price = plan.price_for(currency)
    if price is None:
        raise InvalidInput(f"The {plan.name} plan is not sold in {currency}.", code="currency_not_offered")
    return price


def plan_is_free(plan: Plan, currency: str) -> bool:
    """Free means no price at all; contact-sales plans have negotiated prices even when the catalog shows none."""
    return not plan.is_contact_sales and plan_price(plan, currency).is_free


def public_plans() -> list[Plan]:
    return list(
        Plan.objects.filter(is_public=True).prefetch_related("quotas__meter", "prices").order_by("display_order")
    )


def free_plan() -> Plan:
    return Plan.objects.get(code="free")


def signup_plan() -> Plan:
    """The catalog setting: the plan flagged for sign-up trials, else Free."""
    return Plan.objects.filter(is_signup_trial=True).first() or free_plan()
