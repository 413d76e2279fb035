from django.urls import path, re_path

from billing_portal.api.views import billing, invoices, unknown

urlpatterns = [
    path("billing", billing.BillingView.as_view(), name="api-billing"),
    path("billing/plans", billing.PlansView.as_view(), name="api-plans"),
    path("billing/usage", billing.UsageSummaryView.as_view(), name="api-usage"),
    path("billing/checkout", billing.CheckoutView.as_view(), name="api-checkout"),
    path("billing/cancel", billing.CancelView.as_view(), name="api-cancel"),
    path("billing/invoices", invoices.InvoiceListView.as_view(), name="api-invoices"),
    path("billing/invoices/<int:invoice_id>", invoices.InvoiceDetailView.as_view(), name="api-invoice"),
    path("billing/invoices/<int:invoice_id>/pdf", invoices.InvoicePdfView.as_view(), name="api-invoice-pdf"),
    # Last: what no route above (nor /api/v2/) matched, e.g. /api/billing/invoices/abc or /api/v1/usage. The docs
    # and schema without their slash keep Django's handling, which redirects them to the slashed path.
    re_path(r"^(?!(docs|schema)$)", unknown.UnknownPathView.as_view()),
]
