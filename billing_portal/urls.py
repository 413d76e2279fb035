from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from billing_portal.portal.urls import auth_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v2/", include("metering.urls")),
    path("api/", include("billing_portal.api.urls")),
    path("billing/invoices/", include("invoices.urls")),
    path("accounts/", include(auth_urlpatterns)),
    path("", include("billing_portal.portal.urls")),
]
