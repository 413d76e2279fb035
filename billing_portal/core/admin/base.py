"""Admin building blocks: read-only ledgers and records, and settings whose every saved change is audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from billing_portal.audit.services import Actor, audit_record
from billing_portal.core.money import Money


def money_column(field: str) -> Callable[[Any, Any], str]:
    """A list or form column showing the integer `field` as money in the row's `currency` ("$61.00", "¥5,000")."""

    @admin.display(description=field.replace("_", " "), ordering=field)
    def show(self: Any, obj: Any) -> str:
        return Money(getattr(obj, field), obj.currency).format()

    return show


class AppendOnlyAdmin(admin.ModelAdmin):
    """Ledgers and trails: visible, never added, changed or deleted by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _shown(value: Any) -> Any:
    """A form value as the audit trail keeps it: related rows by id, many of them as sorted names."""
    if isinstance(value, QuerySet | list | tuple):
        return sorted(str(item) for item in value)
    return value.pk if isinstance(value, Model) else value


def _label(obj: Model) -> str:
    return str(obj._meta.verbose_name).replace(" ", "_")


def _audit_form(request: HttpRequest, form: forms.ModelForm, *, created: bool) -> None:
    names = [name for name in form.changed_data if "password" not in name]  # never a password
    before = {name: None if created else _shown(form.initial.get(name)) for name in names}
    after = {name: _shown(form.cleaned_data.get(name)) for name in names}
    changed = [name for name in names if created or before[name] != after[name]]  # widgets can report no-ops
    if not changed:
        return
    obj = form.instance
    action = f"{_label(obj)}.{'created' if created else 'changed'}"
    audit_record(
        org=None,
        actor=Actor.for_user(request.user),
        action=action,
        target=obj,
        before={} if created else {name: before[name] for name in changed},
        after={name: after[name] for name in changed},
    )


class AuditedChangesAdmin(admin.ModelAdmin):
    """Settings staff edit by hand (catalog prices, tax rates, staff access): every saved change is audited,
    inlines included, as `<model>.created`, `.changed` or `.deleted` with the fields' before and after."""

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # many-to-many fields are saved by now
        _audit_form(request, form, created=not change)

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        for deleted in formset.deleted_objects:
            _audit_deleted(request, deleted)
        for inline in formset.forms:
            if inline.has_changed() and inline.instance.pk and inline.instance not in formset.deleted_objects:
                _audit_form(request, inline, created=inline.instance in formset.new_objects)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        _audit_deleted(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            _audit_deleted(request, obj)
        super().delete_queryset(request, queryset)


def _audit_deleted(request: HttpRequest, obj: Model) -> None:
    audit_record(
        org=None,
        actor=Actor.for_user(request.user),
        action=f"{_label(obj)}.deleted",
        target=obj,
        before={"row": str(obj)},
    )
