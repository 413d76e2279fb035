from django.urls import path

from metering.api import views

urlpatterns = [
    path("usage/events", views.UsageEventView.as_view(), name="usage-events"),
    path("usage/events/batch", views.UsageBatchView.as_view(), name="usage-events-batch"),
    path("sessions", views.SessionOpenView.as_view(), name="sessions"),
    path("sessions/quota", views.SessionQuotaView.as_view(), name="sessions-quota"),
    path("sessions/<uuid:session_id>/end", views.SessionEndView.as_view(), name="session-end"),
    path("quota/tokens", views.QuotaView.as_view(), name="quota-tokens"),
    path("quota/<slug:meter>", views.QuotaView.as_view(), name="quota"),
    path("credits", views.CreditsView.as_view(), name="credits"),
]
