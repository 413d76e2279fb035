"""Subscriptions, the seat ledger, and the billing jobs: their beat schedules and how each last ran."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import CharField, F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Concat
from django.http import HttpRequest
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

from billing_portal.core.admin import AppendOnlyAdmin
from billing_portal.subscriptions.models import JobExecution, JobRun, SeatChange, Subscription

BILLING_TASK = "billing_portal.subscriptions.tasks.run_billing_job"


@admin.register(Subscription)
class SubscriptionAdmin(AppendOnlyAdmin):
    """Changed only through the organization's operations (plan, trial, cancel, Enterprise)."""

    list_display = ["org", "plan", "interval", "status", "seat_quantity", "current_period_end", "trial_end",
                    "cancel_at_period_end"]  # fmt: skip
    list_filter = ["status", "plan", "interval", "cancel_at_period_end"]
    search_fields = ["org__name", "org__slug", "stripe_subscription_id"]
    list_select_related = ["org", "plan"]


@admin.register(SeatChange)
class SeatChangeAdmin(AppendOnlyAdmin):
    list_display = ["subscription", "effective_at", "previous_quantity", "quantity", "reason"]
    search_fields = ["subscription__org__slug", "reason", "idempotency_key"]
    list_select_related = ["subscription__org", "subscription__plan"]


@admin.register(JobRun)
class JobRunAdmin(AppendOnlyAdmin):
    list_display = ["job", "org", "period_key", "ran_at", "outcome"]
    list_filter = ["job"]
    search_fields = ["org__slug", "period_key"]
    list_select_related = ["org"]


def _as_task_args(job: Any) -> Concat:
    """The billing task's args for a job, as the beat schedules store them: json.dumps([job])."""
    return Concat(Value('["'), job, Value('"]'), output_field=CharField())


@admin.register(JobExecution)
class JobExecutionAdmin(AppendOnlyAdmin):
    """Every run of a billing job, with the beat schedule that runs it."""

    list_display = ["job", "started_at", "finished_at", "processed", "failed", "outcome", "schedule"]
    list_filter = ["job"]
    date_hierarchy = "started_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[JobExecution]:
        task = PeriodicTask.objects.filter(task=BILLING_TASK, args=_as_task_args(OuterRef("job")))
        return (
            super()
            .get_queryset(request)
            .annotate(
                schedule_id=Subquery(task.values("pk")[:1]), schedule_name=Subquery(task.values("name")[:1])
            )
        )

    @admin.display(description="beat schedule")
    def schedule(self, execution: Any) -> str:
        if execution.schedule_id is None:
            return "not scheduled"
        url = reverse("admin:django_celery_beat_periodictask_change", args=[execution.schedule_id])
        return format_html('<a href="{}">{}</a>', url, execution.schedule_name)


admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class BillingPeriodicTaskAdmin(PeriodicTaskAdmin):
    """django-celery-beat's schedules, editable as before, with each billing job's latest run and outcome."""

    list_display = [
        "name",
        "enabled",
        "scheduler",
        "last_run_at",
        "last_billing_run",
        "last_outcome",
        "one_off",
    ]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # django-celery-beat's actions (enable, disable, run now) ask for no permission of their own.
        return super().get_actions(request) if self.has_change_permission(request) else {}

    def get_queryset(self, request: HttpRequest) -> QuerySet[PeriodicTask]:
        runs = (
            JobExecution.objects.annotate(task_args=_as_task_args(F("job")))
            .filter(task_args=OuterRef("args"))
            .order_by("-started_at", "-pk")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                **{
                    f"billing_{name}": Subquery(runs.values(name)[:1])
                    for name in ("job", "started_at", "finished_at", "failed", "outcome")
                }
            )
        )

    @admin.display(description="last billing run")
    def last_billing_run(self, task: Any) -> str:
        if task.billing_started_at is None:
            return "—"
        url = reverse("admin:subscriptions_jobexecution_changelist") + f"?job={task.billing_job}"
        return format_html(
            '<a href="{}">{}</a>', url, date_format(localtime(task.billing_started_at), "Y-m-d H:i")
        )

    @admin.display(description="outcome")
    def last_outcome(self, task: Any) -> str:
        if task.billing_started_at is None:
            return "—"
        if task.billing_finished_at is None:
            return "running"
        failed = f"{task.billing_failed} failed; " if task.billing_failed else ""
        return f"{failed}{task.billing_outcome}"
