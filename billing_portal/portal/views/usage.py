"""Usage: a daily chart for the cycle, breakdowns from the rollups, and the per-call log with filters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse

from accounts.models import Membership, Space
from billing_portal.catalog.models import Meter
from billing_portal.portal.charts import daily_bar_chart
from billing_portal.portal.context import BILLING, PortalContext, org_view
from billing_portal.portal.pages import page_number, render_page
from metering.selectors import BREAKDOWNS, current_window, usage_breakdown, usage_daily_series, usage_log

LOG_PAGE_SIZE = 50
BREAKDOWN_TITLES = {"member": "By member", "space": "By space", "agent": "By agent", "model": "By model",
                    "integration": "By integration", "line_item": "By line item"}


class LogFilterForm(forms.Form):
    meter = forms.ModelChoiceField(queryset=Meter.objects.all(), to_field_name="code", required=False,
                                   empty_label="All meters")
    success = forms.NullBooleanField(required=False, widget=forms.Select(
        choices=[("", "Any result"), ("true", "Succeeded"), ("false", "Failed")]))
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Before")

    member = forms.EmailField(required=False, label="Member email")

    def __init__(self, *args: Any, ctx: PortalContext, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.org = ctx.org
        # Only this org's spaces can be chosen: another org's slug is simply not valid here.
        self.fields["space"] = forms.ModelChoiceField(queryset=Space.objects.filter(org=ctx.org).select_related("org"),
                                                      to_field_name="slug",
                                                      required=False, empty_label="All spaces")
        self.order_fields(["meter", "member", "space", "success", "since", "until"])

    def clean_member(self) -> Membership | None:
        email = self.cleaned_data["member"]
        if not email:
            return None
        member = Membership.objects.filter(org=self.org, user__email__iexact=email).first()
        if member is None:
            raise forms.ValidationError("Nobody in this organization has this email.")
        return member


@org_view(BILLING)
def usage(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    org = ctx.org
    window = current_window(org)
    meters = list(Meter.objects.all())
    meter = next((m for m in meters if m.code == request.GET.get("chart")), meters[0] if meters else None)
    daily = usage_daily_series(org=org, meter=meter.code if meter else None, window=window)
    series = {row["day"]: row["quantity"] for row in daily}
    last_day = (window.end - timedelta(seconds=1)).astimezone(org.tz).date()
    chart = daily_bar_chart(
        title=f"{meter.name if meter else 'Usage'} per day, {window.start:%b %-d} – {window.end:%b %-d}",
        unit=meter.unit + "s" if meter else "", first_day=window.start.astimezone(org.tz).date(), last_day=last_day,
        values=series,
    )
    filters = LogFilterForm(request.GET or None, ctx=ctx)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    log = usage_log(org=org, **{name: value for name, value in criteria.items() if value not in (None, "")})
    page = Paginator(log, LOG_PAGE_SIZE).get_page(page_number(request))
    query = request.GET.copy()
    query.pop("page", None)
    return render_page(
        request, ctx, "portal/usage.html", "usage",
        window=window, meters=meters, meter=meter, chart=chart, filters=filters, page=page, query=query.urlencode(),
        breakdowns=[(BREAKDOWN_TITLES[by], usage_breakdown(org=org, by=by, window=window)) for by in BREAKDOWNS],
    )
