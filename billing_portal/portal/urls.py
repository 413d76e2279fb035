from django.contrib.auth import views as auth_views
from django.urls import path

from billing_portal.portal.views import (
    activity,
    api_keys,
    auth,
    credits,
    invoices,
    members,
    overview,
    payment,
    plans,
    usage,
)

app_name = "portal"
urlpatterns = [
    path("", overview.home, name="home"),
    path("signup/", auth.sign_up, name="sign-up"),
    path("invitations/<str:token>/", auth.accept_invitation, name="accept-invitation"),
    path("billing/", overview.overview, name="overview"),
    path("billing/usage/", usage.usage, name="usage"),
    path("billing/credits/", credits.credits, name="credits"),
    path("billing/credits/top-up/", credits.buy_topup, name="buy-topup"),
    path("billing/credits/alert/", credits.alert_threshold, name="credit-alert"),
    path("billing/plans/", plans.plans, name="plans"),
    path("billing/plans/change/", plans.plan_change, name="plan-change"),
    path("billing/plans/cancel/", plans.cancel, name="cancel"),
    path("billing/plans/undo/", plans.undo_change, name="undo-change"),
    path("billing/payment/", payment.payment, name="payment"),
    path("billing/payment/method/", payment.update_method, name="payment-method"),
    path("billing/invoices/", invoices.invoices, name="invoices"),
    path("billing/invoices/<int:invoice_id>/pay/", invoices.pay_now, name="invoice-pay"),
    path("billing/members/", members.members, name="members"),
    path("billing/members/invite/", members.invite, name="invite"),
    path("billing/members/<int:membership_id>/remove/", members.remove, name="member-remove"),
    path("billing/members/<int:membership_id>/role/", members.change_role, name="member-role"),
    path("billing/members/<int:membership_id>/billing-read/", members.billing_read, name="member-billing-read"),
    path("billing/members/<int:membership_id>/transfer/", members.transfer, name="member-transfer"),
    path("billing/invitations/<int:invitation_id>/revoke/", members.revoke_invitation, name="invitation-revoke"),
    path("billing/members/caps/", members.set_cap, name="cap-set"),
    path("billing/activity/", activity.activity, name="activity"),
    path("billing/api-keys/", api_keys.api_keys, name="api-keys"),
    path("billing/api-keys/<int:key_id>/revoke/", api_keys.revoke, name="api-key-revoke"),
    path("billing/switch-org/", auth.switch_org, name="switch-org"),
    path("billing/no-organization/", auth.no_org, name="no-org"),
]

auth_urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
