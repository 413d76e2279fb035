"""The staff roles, as Django groups: Support and Finance. Superusers hold every permission anyway.

Support looks everything up, extends trials and grants small credits (the admin caps a grant at
SUPPORT_CREDIT_LIMIT unless the user also holds metering.grant_large_credits). Finance sees the same, and runs
invoices, exports, refunds, voids and resends, plan changes, Enterprise deals and Stripe repairs.
Running this again resets both groups to exactly these permissions.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

LOOK_UP = [
    "accounts.view_organization", "accounts.view_membership", "accounts.view_invitation", "accounts.view_space",
    "accounts.view_user",
    "subscriptions.view_subscription", "subscriptions.view_seatchange", "subscriptions.view_jobexecution",
    "subscriptions.view_jobrun",
    "metering.view_creditentry", "metering.view_creditpool", "metering.view_usageevent", "metering.view_usagerollup",
    "metering.view_usagecounter", "metering.view_usagecap", "metering.view_topuppurchase", "metering.view_creditalert",
    "invoices.view_invoice", "invoices.view_invoiceline", "invoices.view_invoiceevent",
    "payments.view_paymentmethod", "payments.view_charge", "payments.view_refund",
    "audit.view_auditentry",
    "api.view_apikey",
    "catalog.view_plan", "catalog.view_meter", "catalog.view_quotaoverride",
    "core.view_testclock",
    "django_celery_beat.view_periodictask",
]  # fmt: skip
GROUPS = {
    "Support": LOOK_UP + ["subscriptions.extend_trial", "metering.grant_credits", "api.issue_api_key",
                          "api.revoke_api_key"],
    "Finance": LOOK_UP + [
        "metering.grant_credits", "metering.grant_large_credits", "metering.set_credit_limits",
        "subscriptions.change_plan", "subscriptions.assign_enterprise",
        "invoices.export_invoices", "invoices.void_invoice", "invoices.resend_invoice", "invoices.rerender_invoice_pdf",
        "invoices.view_taxrate", "invoices.add_taxrate", "invoices.change_taxrate", "invoices.view_invoicesequence",
        "payments.refund_charge", "payments.resync_stripe", "payments.reprocess_stripe_event",
        "payments.view_stripeeventreceipt", "payments.view_stripeprice",
    ],
}  # fmt: skip


def _permissions_ready(apps):
    """Django makes permissions after the last migration; a fresh database needs them now."""
    for app_config in apps.get_app_configs():
        stub = getattr(app_config, "models_module", None) is None  # the migration state's configs have none
        if stub:
            app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        if stub:
            app_config.models_module = None


def create(apps, schema_editor):
    _permissions_ready(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in GROUPS.items():
        permissions = []
        for label in wanted:
            app_label, codename = label.split(".")
            permissions.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(permissions)


def remove(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("accounts", "0001_initial"),
        ("api", "0002_apikey_staff_permissions"),
        ("catalog", "0002_default_catalog"),
        ("core", "0001_initial"),
        ("invoices", "0004_staff_permissions_and_refund_event"),
        ("metering", "0003_staff_permissions"),
        ("payments", "0003_refunds_and_staff_permissions"),
        ("subscriptions", "0004_staff_permissions"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, remove)]
