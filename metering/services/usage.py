"""usage_record: the one write path for usage events (the single and batch endpoints and demo data).

One request, one transaction of three statements: claim the idempotency keys (a unique index, no hot lock)
while resolving the names the events use; lock the org's counters and credit pools in one statement, in a fixed
order; decide every event in order with the rules, in Python; then write counters, pools, ledger, answers and
daily rollups in one statement. Only the last two and the commit hold the hot rows. A refused event leaves
nothing behind.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction

from billing_portal.audit.services import Actor
from billing_portal.core import clock
from billing_portal.core.errors import BillingError, BillingLimitReached, InvalidInput
from billing_portal.subscriptions.periods import Period
from billing_portal.subscriptions.policy import capabilities
from metering.errors import PaymentRequired
from metering.models import CreditPool, UsageEvent
from metering.models.usage import CREDITS_METER, ORG_SUBJECT
from metering.services import usage_sql
from metering.services.alerts import alerts_after_debit
from metering.services.cycle import credits_pools_ready
from metering.services.ledger import ledger_debit
from metering.services.rules import (
    DEFAULT_RATE_KEY,
    Rate,
    credit_cost,
    fits,
    line_for,
    remaining,
    split_debit,
    usage_state,
)
from metering.services.windows import window_for

if TYPE_CHECKING:
    from accounts.models import Organization

MAX_EVENTS = 1_000
MAX_QUANTITY = 10**12  # per event; keeps counters and credit sums far inside 64-bit integers
MAX_BACKDATE = timedelta(days=35)
CLOCK_SKEW = timedelta(seconds=60)  # client clocks run a little ahead; "the future" starts after this
METER_LENGTH = UsageEvent._meta.get_field("meter").max_length or 0


@dataclass(frozen=True)
class UsageInput:
    key: str
    meter: str
    quantity: int
    user: str = ""  # a member's email
    space: str = ""  # a space's slug
    model: str = ""
    agent: str = ""
    integration: str = ""
    success: bool = True
    byok: bool = False
    timestamp: datetime | None = None


@dataclass(frozen=True)
class UsageAnswer:
    key: str
    counted: bool
    meter: str
    used: int
    limit: int | None
    state: str
    replayed: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.key,
            "counted": self.counted,
            "meter": self.meter,
            "used": self.used,
            "limit": self.limit,
            "remaining": remaining(self.limit, self.used),
            "state": self.state,
        }


UsageOutcome = UsageAnswer | BillingError


@dataclass(slots=True)
class _Event:
    index: int
    source: UsageInput
    errors: dict[str, list[str]]  # found without the database; the names it uses are checked after the lookup
    counted: bool
    line_item: str
    line_key: str
    occurred_at: datetime
    member_id: int | None = None
    space_id: int | None = None
    cost: int = 0
    pool_member_id: int | None = None  # None: the org's pool
    id: int = 0
    moves: list[tuple[str, str, int | None, int | None]] = field(default_factory=list)  # its subjects()
    rollup: tuple[Any, ...] = ()  # its daily total's key; () when it has none (test mode)

    def subjects(self) -> list[tuple[str, str, int | None, int | None]]:
        """The counters this event moves: (meter, subject, member_id, space_id)."""
        meter = self.source.meter
        found = [(meter, ORG_SUBJECT, None, None)]
        if self.counted and self.member_id:
            found.append((meter, f"member:{self.member_id}", self.member_id, None))
            if self.cost:
                found.append((CREDITS_METER, f"member:{self.member_id}", self.member_id, None))
        if self.counted and self.space_id:
            found.append((meter, f"space:{self.space_id}", None, self.space_id))
        return found


@dataclass(slots=True)
class _Counter:
    id: int
    used: int
    quota: int | None
    hard_limit: int | None
    changed: bool = False


class _NotReady(Exception):
    """The window, a pool or a member's or space's counter is missing: roll back, create them, try again."""

    def __init__(
        self, *, window: bool, member_ids: list[int], counters: list[tuple[str, str, int | None, int | None]]
    ):
        super().__init__("window not open")
        self.window = window
        self.member_ids = member_ids
        self.counters = counters


@dataclass(frozen=True)
class _Request:
    org: Organization
    window: Period
    now: datetime
    test_mode: bool
    api_key_id: int | None
    pooled: bool
    default_member_id: int | None


def usage_record(
    *,
    org: Organization,
    events: Sequence[UsageInput],
    test_mode: bool = False,
    api_key_id: int | None = None,
    default_member_id: int | None = None,
) -> list[UsageOutcome]:
    """Record events in order; one outcome per event: its answer, or the error that refused it.

    `org` must come with its subscription and plan loaded. A repeated key answers the original answer
    (`replayed`); test-mode and failed events are stored but not counted; events without a user are
    attributed to `default_member_id` (the signed-in member for portal calls).
    """
    subscription = org.subscription
    if not 0 < len(events) <= MAX_EVENTS:
        raise InvalidInput(
            f"Send 1 to {MAX_EVENTS} events.", fields={"events": [f"1 to {MAX_EVENTS} events."]}
        )
    capability = capabilities(subscription.status)
    if not capability.run_metered_work:
        replayed = _replays(org, test_mode, events)  # retries of calls made before the pause keep their answers
        if replayed is None:
            raise PaymentRequired(capability.blocked_reason)
        return replayed
    pooled = subscription.plan.pooled_credits
    outcomes: list[UsageOutcome | None] = [None] * len(events)
    first_index: dict[str, int] = {}
    for index, event in enumerate(events):
        first_index.setdefault(event.key, index)
    for attempt in range(3):
        # Read the clock again on a retry: a call that read it just before a window boundary can find the pools
        # already rolled into the next window by a call just after it; only a later reading fits them.
        now = clock.now(org=org)
        request = _Request(org, window_for(org, subscription, now), now, test_mode, api_key_id, pooled,
                           default_member_id)
        candidates = [_candidate(request, index, events[index]) for index in first_index.values()]
        try:
            with transaction.atomic():
                decided = _record(request, candidates)
            break
        except _NotReady as not_ready:
            if attempt == 2:
                raise
            _make_ready(request, not_ready)
    for index, outcome in decided.items():
        outcomes[index] = outcome
    for index, event in enumerate(events):
        if outcomes[index] is None:  # a repeat of a key earlier in this request
            first = outcomes[first_index[event.key]]
            outcomes[index] = replace(first, replayed=True) if isinstance(first, UsageAnswer) else first
    return outcomes  # type: ignore[return-value]


def _replays(org: Organization, test_mode: bool, events: Sequence[UsageInput]) -> list[UsageOutcome] | None:
    """The first answers of events that are all stored already; None when any is new."""
    keys = {event.key for event in events}
    answers = {
        key: UsageAnswer(key, counted, meter, used, quota, state, True)
        for key, counted, meter, used, quota, state in usage_sql.events_answered(
            org_id=org.pk, test_mode=test_mode, keys=list(keys)
        )
    }
    return [answers[event.key] for event in events] if answers.keys() == keys else None


def _invalid(event: UsageInput, now: datetime) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not event.key or len(event.key) > 200:
        errors["id"] = ["Give an idempotency key of 1 to 200 characters."]
    if not 0 < event.quantity <= MAX_QUANTITY:
        errors["quantity"] = [f"Must be a positive integer up to {MAX_QUANTITY:,}."]
    for name in ("model", "agent", "integration"):
        if len(getattr(event, name)) > 100:
            errors[name] = ["At most 100 characters."]
    timestamp = event.timestamp or now
    if timestamp > now + CLOCK_SKEW:
        errors["timestamp"] = ["Must not be in the future."]
    elif timestamp < now - MAX_BACKDATE:
        errors["timestamp"] = ["At most 35 days back."]
    return errors


def _candidate(request: _Request, index: int, event: UsageInput) -> _Event:
    counted = event.success and not request.test_mode
    line_item, line_key = (
        line_for(event.meter, model=event.model, integration=event.integration, byok=event.byok)
        if counted
        else ("", "")
    )
    return _Event(
        index=index,
        source=event,
        errors=_invalid(event, request.now),
        counted=counted,
        line_item=line_item,
        line_key=line_key,
        occurred_at=event.timestamp or request.now,
    )


def _claim(request: _Request, candidates: list[_Event]) -> tuple[dict[str, int], dict[str, dict[str, Any]]]:
    """Insert the valid events unless their key exists, and look up the names all of them use, in one query."""
    chosen = [event.source for event in candidates]
    rate_keys: dict[str, set[str]] = defaultdict(lambda: {DEFAULT_RATE_KEY})
    for event in candidates:
        if event.line_item:
            rate_keys[event.line_item].add(event.line_key)
    claimed, rows = usage_sql.events_claim(
        org_id=request.org.pk,
        test_mode=request.test_mode,
        received_at=request.now,
        api_key_id=request.api_key_id,
        events=[_event_row(event) for event in candidates if _insertable(event)],
        meters={e.meter for e in chosen},
        emails={e.user.strip().lower() for e in chosen if e.user},
        slugs={e.space for e in chosen if e.space},
        rate_keys=rate_keys,
        owner=not request.pooled and request.default_member_id is None and any(not e.user for e in chosen),
    )
    refs: dict[str, dict[str, Any]] = defaultdict(dict)
    for kind, name, pk, a, b in rows:
        refs[kind][name] = (pk, a, b)
    return claimed, refs


def _insertable(event: _Event) -> bool:
    """Valid so far, and its meter fits the column (a longer one is no meter: the lookup refuses it)."""
    return not event.errors and len(event.source.meter) <= METER_LENGTH


def _resolve(request: _Request, event: _Event, refs: dict[str, dict[str, Any]]) -> BillingError | None:
    """Check the names the event uses and fill in its member, space, price and pool; or the error refusing it."""
    source, errors = event.source, event.errors
    if source.meter not in refs["meter"]:
        errors = {**errors, "meter": ["Unknown meter."]}
    member = refs["member"].get(source.user.strip().lower()) if source.user else None
    if source.user and member is None:
        errors = {**errors, "user": ["No active member of this organization has this email."]}
    space = refs["space"].get(source.space) if source.space else None
    if source.space and space is None:
        errors = {**errors, "space": ["No space of this organization has this slug."]}
    if errors:
        return InvalidInput(next(iter(errors.values()))[0], fields=errors)
    if space is not None and space[1]:
        return BillingLimitReached(
            f"The space {source.space} is read-only on your plan.", code="space_read_only"
        )
    event.member_id = member[0] if member else request.default_member_id
    event.space_id = space[0] if space else None
    rates = refs[event.line_item] if event.line_item else None
    rate = (rates.get(event.line_key) or rates.get(DEFAULT_RATE_KEY)) if rates is not None else None
    event.cost = credit_cost(source.quantity, Rate(rate[1], rate[2]) if rate else None)
    owner_id = next(iter(refs["owner"].values()), (None,))[0]
    event.pool_member_id = None if request.pooled else event.member_id or owner_id
    event.moves = event.subjects()
    event.rollup = () if request.test_mode else _rollup_key(request, event)
    return None


def _event_row(event: _Event) -> tuple[Any, ...]:
    """The event's own columns (usage_sql.EVENT_COLUMNS)."""
    e = event.source
    return (
        e.key,
        e.meter,
        e.quantity,
        e.model,
        e.agent,
        e.integration,
        e.success,
        e.byok,
        event.counted,
        event.occurred_at,
    )


def _locked(
    request: _Request, new: list[_Event]
) -> tuple[dict[tuple[str, str], _Counter], dict[int | None, CreditPool]]:
    """The counters the events move and the pools the costly ones debit, locked in one query when anything counts
    (just read when nothing does); raise _NotReady when one is missing or a pool is in an older window."""
    subjects = {s for e in new for s in e.moves}
    wanted = {e.pool_member_id for e in new if e.counted and e.cost}
    counter_rows, pool_rows = usage_sql.hot_rows(
        org_id=request.org.pk,
        window_start=request.window.start,
        counters=[(meter, subject) for meter, subject, _, _ in subjects],
        pools=wanted,
        lock=any(e.counted for e in new),
    )
    counters = {
        (meter, subject): _Counter(pk, used, quota, hard) for pk, meter, subject, used, quota, hard, _ in counter_rows
    }
    pools = {
        member_id: CreditPool(
            id=pk,
            org_id=request.org.pk,
            member_id=member_id,
            window_start=start,
            allotment_balance=allotment,
            topup_balance=topups,
            cycle_grant=cycle_grant,
            low_alert_sent_for=alerted,
            low_alert_open=alert_open,
        )
        for pk, member_id, start, allotment, topups, cycle_grant, alerted, alert_open in pool_rows
    }
    opened = all(limits_set for _, _, subject, _, _, _, limits_set in counter_rows if subject == ORG_SUBJECT)
    missing = [s for s in subjects if (s[0], s[1]) not in counters]
    stale = [m for m in wanted if m not in pools or pools[m].window_start != request.window.start]
    if not opened or missing or stale:
        raise _NotReady(
            window=not opened or bool(stale) or any(subject == ORG_SUBJECT for _, subject, _, _ in missing),
            member_ids=[m for m in stale if m is not None],
            counters=[s for s in missing if s[1] != ORG_SUBJECT],
        )
    return counters, pools


def _make_ready(request: _Request, not_ready: _NotReady) -> None:
    if not_ready.window:
        credits_pools_ready(org=request.org, member_ids=not_ready.member_ids, actor=Actor.system("usage_record"))
    if not_ready.counters:
        usage_sql.counters_create(
            org_id=request.org.pk, window_start=request.window.start, subjects=not_ready.counters
        )


def _refusal(
    request: _Request,
    event: _Event,
    counters: dict[tuple[str, str], _Counter],
    pools: dict[int | None, CreditPool],
) -> BillingLimitReached | None:
    meter, quantity = event.source.meter, event.source.quantity
    org_counter = counters[(meter, ORG_SUBJECT)]
    if not fits(org_counter.used, quantity, org_counter.hard_limit):
        return BillingLimitReached(
            f"The {meter} quota of this billing cycle is used up "
            f"({org_counter.hard_limit:,} including the grace "
            f"buffer). It resets on {request.window.end.astimezone(request.org.tz):%Y-%m-%d}; an upgrade lifts it now."
        )
    for subject, what in ((f"member:{event.member_id}", "member's"), (f"space:{event.space_id}", "space's")):
        counter = counters.get((meter, subject))
        if counter is not None and not fits(counter.used, quantity, counter.hard_limit):
            return BillingLimitReached(
                f"This {what} monthly {meter} cap of {counter.hard_limit:,} is reached."
            )
    if not event.cost:
        return None
    credit_counter = counters.get((CREDITS_METER, f"member:{event.member_id}"))
    if credit_counter is not None and not fits(credit_counter.used, event.cost, credit_counter.hard_limit):
        return BillingLimitReached(
            f"This member's monthly credit limit of {credit_counter.hard_limit:,} is reached."
        )
    pool = pools[event.pool_member_id]
    if (
        split_debit(
            topup_balance=pool.topup_balance, allotment_balance=pool.allotment_balance, cost=event.cost
        )
        is None
    ):
        return BillingLimitReached(
            f"Not enough credits: this call costs {event.cost:,} and {pool.balance:,} are left."
        )
    return None


def _rollup_key(request: _Request, event: _Event) -> tuple[Any, ...]:
    """The (day, dimensions) total the event adds to: usage_sql.ROLLUP_KEYS."""
    e = event.source
    # Each part escaped, so that no two different combinations join to the same key ("m|a" + "" vs "m" + "a|").
    dimensions = "|".join(
        str(part).replace("\\", "\\\\").replace("|", "\\|")
        for part in (
            e.meter,
            event.member_id or "",
            event.space_id or "",
            e.model,
            e.agent,
            e.integration,
            event.line_item,
        )
    )
    return (
        request.org.pk,
        event.occurred_at.astimezone(request.org.tz).date(),
        dimensions,
        e.meter,
        event.member_id,
        event.space_id,
        e.model,
        e.agent,
        e.integration,
        event.line_item,
    )


def _rollup_add(event: _Event, rollups: dict[tuple[Any, ...], list[int]]) -> None:
    """Add the event to its total; one row per total, as an upsert may touch a row once."""
    sums = rollups.setdefault(event.rollup, [0, 0, 0, 0])
    sums[0] += 1
    if not event.source.success:
        sums[1] += 1
    if event.counted:
        sums[2] += event.source.quantity
        sums[3] += event.cost


def _record(request: _Request, candidates: list[_Event]) -> dict[int, UsageOutcome]:
    """Claim, then lock, decide every event in order with the rules, and write it all in one statement."""
    claimed, refs = _claim(request, candidates)
    results: dict[int, UsageOutcome] = {}
    new: list[_Event] = []
    refused: list[int] = []  # events claimed but refused: deleted in the same write
    repeats: dict[str, int] = {}
    for event in candidates:
        event_id = claimed.get(event.source.key) if _insertable(event) else None
        if event_id is None and _insertable(event):  # stored before: its first answer, whatever changed since
            repeats[event.source.key] = event.index
            continue
        error = _resolve(request, event, refs)
        if error is not None:
            results[event.index] = error
            if event_id is not None:
                refused.append(event_id)
        else:
            event.id = event_id
            new.append(event)
    if repeats:
        for key, counted, meter, used, quota, state in usage_sql.events_answered(
            org_id=request.org.pk, test_mode=request.test_mode, keys=list(repeats)
        ):
            results[repeats[key]] = UsageAnswer(key, counted, meter, used, quota, state, True)
    counters, pools = _locked(request, new) if new else ({}, {})
    debits: dict[int | None, list[tuple[Any, ...]]] = defaultdict(list)
    answers: list[tuple[Any, ...]] = []
    rollups: dict[tuple[Any, ...], list[int]] = {}
    for event in new:
        refusal = _refusal(request, event, counters, pools) if event.counted else None
        if refusal is not None:
            results[event.index] = refusal
            refused.append(event.id)
            continue
        if event.counted:
            _apply(event, counters, pools, debits)
        org_counter = counters[(event.source.meter, ORG_SUBJECT)]
        state = usage_state(org_counter.used, org_counter.quota)
        results[event.index] = UsageAnswer(
            event.source.key, event.counted, event.source.meter, org_counter.used, org_counter.quota, state
        )
        answers.append(
            (event.id, org_counter.used, org_counter.quota, state, event.member_id, event.space_id, event.cost)
        )
        if event.rollup:
            _rollup_add(event, rollups)
    for member_id in debits:
        alerts_after_debit(pools[member_id], threshold_pct=request.org.credit_alert_threshold_pct, at=request.now)
    usage_sql.usage_write(
        org_id=request.org.pk,
        at=request.now,
        counters=[(c.id, c.used) for c in counters.values() if c.changed],
        pools=[
            (p.pk, p.allotment_balance, p.topup_balance, p.low_alert_sent_for, p.low_alert_open)
            for p in (pools[member_id] for member_id in debits)
        ],
        debits=[row for rows in debits.values() for row in rows],
        answers=answers,
        deleted=refused,
        rollups=[(*key, *sums) for key, sums in rollups.items()],
    )
    return results


def _apply(
    event: _Event,
    counters: dict[tuple[str, str], _Counter],
    pools: dict[int | None, CreditPool],
    debits: dict[int | None, list[tuple[Any, ...]]],
) -> None:
    for meter, subject, _, _ in event.moves:
        counter = counters[(meter, subject)]
        counter.used += event.cost if meter == CREDITS_METER else event.source.quantity
        counter.changed = True
    if not event.cost:
        return
    pool = pools[event.pool_member_id]
    split = split_debit(
        topup_balance=pool.topup_balance, allotment_balance=pool.allotment_balance, cost=event.cost
    )
    assert split is not None  # checked by _refusal under the same lock
    from_topups, from_allotment = split
    debits[event.pool_member_id].append(
        ledger_debit(
            pool,
            allotment=-from_allotment,
            topup=-from_topups,
            line_item=event.line_item,
            line_key=event.line_key,
            usage_event_id=event.id,
        )
    )
