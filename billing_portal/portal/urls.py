from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from billing_portal.portal.views import auth, overview

app_name = "portal"
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="portal:overview"), name="home"),
    path("signup/", auth.sign_up, name="sign-up"),
    path("invitations/<str:token>/", auth.accept_invitation, name="accept-invitation"),
    path("billing/", overview.overview, name="overview"),
    path("billing/switch-org/", auth.switch_org, name="switch-org"),
    path("billing/no-organization/", auth.no_org, name="no-org"),
]

auth_urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
