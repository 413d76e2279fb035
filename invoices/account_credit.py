"""Account credit: an invoice whose total is below zero (seats removed before a cancellation took effect, a plan
replaced for less than its unused time) leaves the org that much credit, in the invoice's currency. The org's next
invoices spend it before any card is charged, as Stripe's customer balance does; voiding an invoice gives back what
it spent. Every change is an entry tied to its invoice, once per cause, and audited."""

from __future__ import annotations

from typing import TYPE_CHECKING

from billing_portal.audit.services import Actor, audit_record
from billing_portal.core import clock
from billing_portal.core.money import Money
from invoices.models import AccountCredit, AccountCreditEntry, AccountCreditEntryKind, Invoice

if TYPE_CHECKING:
    from accounts.models import Organization


def account_credit_balance(org: Organization, currency: str) -> Money:
    balance = AccountCredit.objects.filter(org=org, currency=currency).values_list("balance", flat=True).first()
    return Money(balance or 0, currency)


def account_credit_to_spend(org: Organization, amount: Money) -> Money:
    """How much of `amount` (tax included) the org's credit would pay now: what previews take off."""
    available = account_credit_balance(org, amount.currency)
    return Money(min(available.amount, max(amount.amount, 0)), amount.currency)


def _record(account: AccountCredit, invoice: Invoice, kind: str, amount: int, actor: Actor) -> None:
    before = account.balance
    account.balance += amount
    account.save(update_fields=["balance"])
    AccountCreditEntry.objects.create(account=account, invoice=invoice, kind=kind, amount=amount,
                                      balance_after=account.balance, created_at=clock.now(org=invoice.org))
    audit_record(org=invoice.org, actor=actor, action=f"account_credit.{kind}", target=invoice,
                 before={"balance": before}, after={"balance": account.balance, "currency": account.currency})


def _locked(invoice: Invoice) -> AccountCredit | None:
    return AccountCredit.objects.select_for_update().filter(org_id=invoice.org_id, currency=invoice.currency).first()


def account_credit_settle(*, invoice: Invoice, actor: Actor) -> None:
    """At finalization, inside its transaction (the invoice row locked): a total below zero becomes credit;
    a total above zero spends what credit there is. Sets `invoice.credit_applied`; the caller saves the invoice."""
    if invoice.total < 0:
        AccountCredit.objects.bulk_create(
            [AccountCredit(org_id=invoice.org_id, currency=invoice.currency)], ignore_conflicts=True
        )
        account = _locked(invoice)
        assert account is not None  # made just above
        _record(account, invoice, AccountCreditEntryKind.CREDITED, -invoice.total, actor)
    elif invoice.total > 0:
        account = _locked(invoice)
        if account is None or account.balance == 0:
            return
        invoice.credit_applied = min(account.balance, invoice.total)
        _record(account, invoice, AccountCreditEntryKind.APPLIED, -invoice.credit_applied, actor)


def account_credit_restore(*, invoice: Invoice, actor: Actor) -> None:
    """A voided invoice gives back the credit it spent (inside the void's transaction, the invoice row locked)."""
    if invoice.credit_applied <= 0:
        return
    account = _locked(invoice)
    assert account is not None  # the credit was spent from it
    _record(account, invoice, AccountCreditEntryKind.RESTORED, invoice.credit_applied, actor)
