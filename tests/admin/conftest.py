"""Staff with exactly the permissions a test names, and posting to the admin's operation pages and actions."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from accounts.models import User
from billing_portal.audit.models import AuditEntry
from tests.factories import UserFactory


def staff(*permissions: str, superuser: bool = False, group: str = "") -> User:
    """A staff user holding exactly `permissions` ("app_label.codename"), or those of a staff group."""
    user = UserFactory(is_staff=True, is_superuser=superuser)
    if group:
        user.groups.add(Group.objects.get(name=group))
    for label in permissions:
        app_label, codename = label.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


def operation_url(obj: Any, name: str) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_operation", args=[obj.pk, name])


def change_url(obj: Any) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def changelist_url(model: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def last_entry(action: str) -> AuditEntry:
    return AuditEntry.objects.filter(action=action).latest("id")


@pytest.fixture
def login(client: Client):  # type: ignore[no-untyped-def]
    """Sign `client` in as a staff user with exactly these permissions; returns the user."""

    def as_staff(*permissions: str, superuser: bool = False) -> User:
        user = staff(*permissions, superuser=superuser)
        client.force_login(user)
        return user

    return as_staff
