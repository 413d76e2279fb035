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
    # Last: what no route above (nor /api/v2/) matched, e.g. /api/billing/invoices/abc. Other paths keep
    # Django's handling, so /api/docs still redirects to /api/docs/.
    re_path(r"^(billing|v2)(/|$)", unknown.UnknownPathView.as_view()),
]
