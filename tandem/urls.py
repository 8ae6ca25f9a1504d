from django.urls import include, path

from tandem.accounts import views as account_views
from tandem.api import api
from tandem.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("login/", account_views.LoginView.as_view(), name="login"),
    path("logout/", account_views.logout_view, name="logout"),
    path("notifications/", account_views.notifications, name="notifications"),
    path("accounts/", include("tandem.accounts.urls")),
    path("patients/", include("tandem.plans.urls")),
    path("patients/", include("tandem.medications.urls")),
    path("patients/", include("tandem.therapy.urls")),
    path("patients/", include("tandem.notes.urls")),
    path("patients/", include("tandem.practice.urls")),
    path("patients/", include("tandem.feedback.urls")),
    path("patients/", include("tandem.measures.urls")),
    path("patients/", include("tandem.safety.urls")),
    path("patients/", include("tandem.caretime.urls")),
    # Before the patients app, whose patients/<id>/<tab>/ placeholder route would catch these.
    path("", include("tandem.collab.urls")),
    path("patients/", include("tandem.handoffs.urls")),
    path("patients/", include("tandem.patients.urls")),
    path("portal/", include("tandem.portal.urls")),
    path("portal/", include("tandem.handoffs.portal_urls")),
    path("tasks/", include("tandem.handoffs.task_urls")),
    path("portal/", include("tandem.therapy.portal_urls")),
    path("portal/", include("tandem.practice.portal_urls")),
    path("portal/", include("tandem.feedback.portal_urls")),
    path("portal/", include("tandem.measures.portal_urls")),
    path("portal/", include("tandem.safety.portal_urls")),
    path("feeds/", include("tandem.medications.feed_urls")),
    path("manage/", include("tandem.core.manage_urls")),
    path("manage/education/", include("tandem.plans.urls_education")),
    path("audit/", include("tandem.audit.urls")),
    path("registry/", include("tandem.registry.urls")),
    path("fhir/", include("tandem.fhir.urls")),
    path("api/", api.urls),
]

handler403 = "tandem.core.views.error_403"
handler404 = "tandem.core.views.error_404"
handler500 = "tandem.core.views.error_500"
