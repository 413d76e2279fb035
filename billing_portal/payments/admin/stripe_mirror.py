"""dj-stripe's own admin pages, made safe: they show what dj-stripe mirrors from Stripe and send nothing to it.

dj-stripe serves its actions (cancel a subscription, re-sync from Stripe) at `action/<name>/<model>/` with no
permission check beyond being staff; they call Stripe outside the portal's adapter and leave no audit entry.
They are removed: staff change Stripe through the portal's operations, which are permissioned and audited.
The mirrored objects are read-only (Stripe's webhooks keep them), and search fields dj-stripe names but no longer
has are dropped (searching such a list was a 500).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.http import HttpRequest
from djstripe.admin.actions import CustomActionMixin
from djstripe.admin.admin import StripeModelAdmin

ACTION_URL = "djstripe_custom_action"


def _searchable(model: type[Model], lookup: str) -> bool:
    try:
        get_fields_from_path(model, lookup.lstrip("^=@"))
    except (FieldDoesNotExist, NotRelationField):
        return False
    return True


class WithoutStripeCalls:
    """Mixed in before a dj-stripe ModelAdmin."""

    model: type[Model]

    def get_urls(self) -> list[Any]:
        return [url for url in super().get_urls() if getattr(url, "name", None) != ACTION_URL]  # type: ignore[misc]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        fields = super().get_search_fields(request)  # type: ignore[misc]
        return [lookup for lookup in fields if _searchable(self.model, lookup)]


class ReadOnlyMirror:
    """Stripe's webhooks keep the mirrors; staff only look (the webhook endpoint and API keys stay editable)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def stripe_admins_restrict(site: admin.AdminSite) -> None:
    """Re-register every dj-stripe admin with its actions removed; the mirrors of Stripe objects read-only."""
    for model, model_admin in list(site._registry.items()):
        if not isinstance(model_admin, CustomActionMixin):
            continue
        base = type(model_admin)
        mirror = isinstance(model_admin, StripeModelAdmin)
        bases = (WithoutStripeCalls, ReadOnlyMirror, base) if mirror else (WithoutStripeCalls, base)
        site.unregister(model)
        site.register(model, type(base.__name__, bases, {}))
