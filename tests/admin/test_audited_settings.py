"""Staff access and catalog prices edited by hand in admin land in the audit trail (never a password)."""

import pytest
from django.contrib.auth.models import Group
from django.forms import MultiWidget

from billing_portal.catalog.models import Plan, PlanPrice
from tests.admin.conftest import change_url, last_entry, staff
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def form_data(response):
    """What the admin change form would post back unchanged: the main form and every inline formset."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update({f"{formset.prefix}-{key}": value for key, value in formset.management_form.initial.items()})
        forms += formset.forms
    for form in forms:
        for name, field in form.fields.items():
            value = form[name].value()
            if isinstance(field.widget, MultiWidget):  # e.g. a date and a time
                parts = zip(field.widget.widgets_names, field.widget.decompress(value), strict=True)
                data.update({form.add_prefix(name) + suffix: part for suffix, part in parts if part is not None})
            elif value is True:
                data[form.add_prefix(name)] = "on"
            elif value not in (None, False):
                data[form.add_prefix(name)] = value
    return data


def test_giving_someone_a_staff_role_is_audited(client, login):
    admin_user = login(superuser=True)
    person = UserFactory(is_staff=True)
    person.date_joined = person.date_joined.replace(microsecond=0)  # the admin's split date/time keeps seconds
    person.save()
    data = form_data(client.get(change_url(person)))
    support = Group.objects.get(name="Support")
    response = client.post(change_url(person), {**data, "groups": [support.pk]})
    assert response.status_code == 302
    assert list(person.groups.all()) == [support]
    entry = last_entry("user.changed")
    assert (entry.actor_user, entry.target_id, entry.before, entry.after) == (
        admin_user,
        str(person.pk),
        {"groups": []},
        {"groups": ["Support"]},
    )


def test_creating_a_staff_user_never_records_the_password(client, login):
    login(superuser=True)
    response = client.post(
        "/admin/accounts/user/add/",
        {
            "email": "new@staff.test",
            "full_name": "New",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
    )
    assert response.status_code == 302
    entry = last_entry("user.created")
    assert entry.after == {"email": "new@staff.test", "full_name": "New"}
    assert "a-long-pass-phrase-9" not in str(entry.before) + str(entry.after)


def test_changing_a_groups_permissions_is_audited(client, login):
    login(superuser=True)
    finance = Group.objects.get(name="Finance")
    data = form_data(client.get(change_url(finance)))
    kept = [int(pk) for pk in data["permissions"]][:-1]
    assert client.post(change_url(finance), {**data, "permissions": kept}).status_code == 302
    entry = last_entry("group.changed")
    assert len(entry.before["permissions"]) == len(entry.after["permissions"]) + 1


def test_a_catalog_price_change_is_audited(client, login):
    user = login(superuser=True)
    team = Plan.objects.get(code="team")
    data = form_data(client.get(change_url(team)))
    price = PlanPrice.objects.get(plan=team, currency="USD")
    field = next(key for key, value in data.items() if key.endswith("-id") and str(value) == str(price.pk))
    data[field.replace("-id", "-price_month")] = "5900"
    assert client.post(change_url(team), data).status_code == 302
    price.refresh_from_db()
    assert price.price_month == 5_900
    entry = last_entry("plan_price.changed")
    assert (entry.actor_user, entry.before, entry.after) == (
        user,
        {"price_month": 4_900},
        {"price_month": 5_900},
    )


def test_support_cannot_edit_the_catalog(client):
    user = staff("catalog.view_plan")
    client.force_login(user)
    team = Plan.objects.get(code="team")
    assert client.post(change_url(team), {"name": "Cheap"}).status_code == 403
