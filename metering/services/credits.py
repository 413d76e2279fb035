"""Staff grants and revokes, and top-ups bought through the invoice and payment spine."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db import transaction

from accounts import permissions
from accounts.models import Membership
from billing_portal.audit.services import Actor, audit_record
from billing_portal.core import clock
from billing_portal.core.errors import BillingError, Conflict, InvalidInput, NotAllowed
from billing_portal.core.money import Money
from billing_portal.payments.services import invoice_collect
from billing_portal.subscriptions.periods import Period
from billing_portal.subscriptions.policy import capability_require
from billing_portal.subscriptions.services.seats import subscription_locked
from invoices.models import Invoice, InvoiceKind, InvoiceStatus, LineKind
from invoices.services import LineSpec, invoice_issue, invoice_void
from metering.models import CreditEntry, CreditPool, EntryKind, TopupPack, TopupPurchase
from metering.services.alerts import alerts_after_grant
from metering.services.cycle import credits_pools_ready
from metering.services.ledger import ledger_post, pool_save
from metering.services.rules import MAX_LIMIT, split_debit

if TYPE_CHECKING:
    from accounts.models import Organization


def _pool_locked(org: Organization, member: Membership | None, actor: Actor) -> CreditPool:
    """The pool `member`'s credits live in on this plan (the org's on pooled plans), opened and locked.

    The plan is read under the subscription's lock (taken first, as plan changes take it): read before, a change
    to a pooled plan committing meanwhile would strand the credits in a member's pool that plan never spends."""
    pooled = subscription_locked(org).plan.pooled_credits
    member_id = None if pooled or member is None else member.pk
    if not pooled and member_id is None:
        raise InvalidInput(
            "On per-member plans, choose the member whose credits change.", fields={"member": ["Required."]}
        )
    credits_pools_ready(org=org, member_ids=[member_id] if member_id else [], actor=actor)
    query = CreditPool.objects.select_for_update().filter(org=org)
    return query.get(member__isnull=True) if member_id is None else query.get(member_id=member_id)


def _positive(credits: int) -> None:
    if type(credits) is not int or not 0 < credits <= MAX_LIMIT:
        raise InvalidInput(
            f"Credits must be a whole number from 1 to {MAX_LIMIT:,}.", fields={"credits": [f"1 to {MAX_LIMIT:,}."]}
        )


def _topup_bucket_grant(
    pool: CreditPool, *, org: Organization, credits: int, kind: str, actor: Actor, reason: str, **cause: Any
) -> CreditEntry:
    """Credits that never expire and are spent first (top-ups and staff grants); saves the pool."""
    entry = ledger_post(
        pool, kind=kind, at=clock.now(org=org), topup=credits, actor_label=actor.label, reason=reason, **cause
    )
    pool.cycle_grant += credits
    alerts_after_grant(pool, threshold_pct=org.credit_alert_threshold_pct, at=entry.at)
    pool_save(pool, [entry])
    return entry


def _done_before(idempotency_key: str | None) -> CreditEntry | None:
    """The entry a staff form with this key made already (read under the pool's lock): a double submit moves
    credits once."""
    return CreditEntry.objects.filter(idempotency_key=idempotency_key).first() if idempotency_key else None


def credits_grant(
    *, org: Organization, credits: int, reason: str, actor: Actor, member: Membership | None = None,
    idempotency_key: str | None = None,
) -> CreditEntry:
    """A staff grant. It behaves like a top-up: never expires and is spent before the monthly allotment."""
    _positive(credits)
    with transaction.atomic():
        pool = _pool_locked(org, member, actor)
        if done := _done_before(idempotency_key):
            return done
        entry = _topup_bucket_grant(
            pool, org=org, credits=credits, kind=EntryKind.STAFF_GRANT, actor=actor, reason=reason,
            idempotency_key=idempotency_key,
        )
        audit_record(
            org=org,
            actor=actor,
            action="credits.granted",
            target=pool,
            after={"credits": credits},
            reason=reason,
        )
    return entry


def credits_revoke(
    *, org: Organization, credits: int, reason: str, actor: Actor, member: Membership | None = None,
    idempotency_key: str | None = None,
) -> CreditEntry:
    """A staff correction: takes credits back (top-ups first, like spending); refused if they are short."""
    _positive(credits)
    with transaction.atomic():
        pool = _pool_locked(org, member, actor)
        if done := _done_before(idempotency_key):
            return done
        split = split_debit(
            topup_balance=pool.topup_balance, allotment_balance=pool.allotment_balance, cost=credits
        )
        if split is None:
            raise InvalidInput(
                f"Only {pool.balance:,} credits are left to revoke.",
                code="insufficient_credits",
                fields={"credits": [f"At most {pool.balance:,}."]},
            )
        entry = ledger_post(
            pool,
            kind=EntryKind.STAFF_REVOKE,
            at=clock.now(org=org),
            topup=-split[0],
            allotment=-split[1],
            actor_label=actor.label,
            reason=reason,
            idempotency_key=idempotency_key,
        )
        pool_save(pool, [entry])
        audit_record(
            org=org,
            actor=actor,
            action="credits.revoked",
            target=pool,
            after={"credits": credits},
            reason=reason,
        )
    return entry


class PaymentFailed(BillingError):
    code = "payment_failed"
    status = 402


def credits_topup_purchase(
    *, org: Organization, pack: TopupPack, by: Membership, actor: Actor, request_key: UUID | None = None
) -> Invoice:
    """The owner buys a pack: an invoice is issued and charged now; credits arrive once it is paid.

    A failed charge voids the invoice (a top-up is never chased by dunning) and raises PaymentFailed. A
    `request_key` already used (the same form submitted twice, even at the same moment) buys nothing more: it
    gets the first purchase's outcome.
    """
    if by.org_id != org.pk or not by.is_active or not permissions.can_change_billing(by):
        raise NotAllowed("Only the owner can buy credits.")
    subscription = org.subscription
    capability_require(subscription.status, "buy_credits")
    price = pack.prices.filter(currency=subscription.currency).first() if pack.is_active else None
    if price is None:
        raise InvalidInput(
            f"The {pack.name} pack is not sold in {subscription.currency}.", code="pack_unavailable"
        )
    with transaction.atomic():
        # The whole purchase holds the subscription, as plan changes and closure do: a closure never lands
        # between the invoice and its charge, and the same form submitted twice at once waits here, then finds
        # the first one's outcome. Taken before the invoice-number row, as upgrades take it.
        subscription = subscription_locked(org)
        capability_require(subscription.status, "buy_credits")
        repeated = _topup_repeated(org, pack, request_key)
        if repeated is not None:
            return repeated
        invoice = _topup_invoice(org, pack, price.amount, by, actor, request_key, clock.now(org=org))
        result = invoice_collect(invoice=invoice, actor=actor, on_session=True)
        invoice.refresh_from_db()
        if invoice.status == InvoiceStatus.PAID:
            credits_topup_fulfil(invoice=invoice, actor=actor)
            return invoice
        invoice_void(invoice=invoice, actor=actor, reason=f"Top-up payment failed: {result.failure_code}")
    raise PaymentFailed(result.failure_message or "The payment did not go through.")


def _topup_repeated(org: Organization, pack: TopupPack, request_key: UUID | None) -> Invoice | None:
    """What a second submission of a purchase form gets: the first one's outcome, nothing charged (None: the
    form's first submission)."""
    purchase = (
        TopupPurchase.objects.select_related("invoice").filter(request_key=request_key).first()
        if request_key is not None
        else None
    )
    if purchase is None:
        return None
    if purchase.org_id != org.pk or purchase.pack_id != pack.pk:
        raise Conflict("This form was already used for another purchase; reload the page to buy again.")
    if purchase.invoice.status == InvoiceStatus.PAID:
        return purchase.invoice
    if purchase.invoice.status == InvoiceStatus.VOID:
        raise PaymentFailed("This top-up's payment did not go through; reload the page to try again.")
    raise Conflict("This top-up is being paid already.", code="in_progress")


def _topup_invoice(
    org: Organization, pack: TopupPack, amount: int, by: Membership, actor: Actor, request_key: UUID | None,
    now: datetime,
) -> Invoice:
    subscription = org.subscription
    with transaction.atomic():
        invoice = invoice_issue(
            org=org,
            kind=InvoiceKind.TOPUP,
            currency=subscription.currency,
            subscription=subscription,
            actor=actor,
            lines=[
                LineSpec(
                    LineKind.CREDIT_TOPUP,
                    f"{pack.credits:,} credits ({pack.name})",
                    Money(amount, subscription.currency),
                )
            ],
            period=Period(now, now),
        )
        TopupPurchase.objects.create(
            org=org,
            pack=pack,
            invoice=invoice,
            member=by,
            credits=pack.credits,
            bought_by=by.user,
            request_key=request_key,
            created_at=now,
        )
    return invoice


def credits_topup_fulfil(*, invoice: Invoice, actor: Actor) -> CreditEntry | None:
    """Grant a paid top-up's credits exactly once (the ledger key is the invoice). Call when it is paid."""
    purchase = (
        TopupPurchase.objects.select_related("org__subscription__plan", "member")
        .filter(invoice=invoice)
        .first()
    )
    if purchase is None or Invoice.objects.get(pk=invoice.pk).status != InvoiceStatus.PAID:
        return None
    org = purchase.org
    key = f"topup:{invoice.pk}"
    with transaction.atomic():
        pool = _pool_locked(org, purchase.member, actor)
        if CreditEntry.objects.filter(idempotency_key=key).exists():
            return None
        entry = _topup_bucket_grant(
            pool,
            org=org,
            credits=purchase.credits,
            kind=EntryKind.TOPUP,
            actor=actor,
            reason=str(invoice),
            idempotency_key=key,
            invoice=invoice,
        )
        audit_record(
            org=org,
            actor=actor,
            action="credits.topped_up",
            target=invoice,
            after={"credits": purchase.credits},
        )
    return entry
