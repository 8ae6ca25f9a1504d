from django.urls import path

from tandem.portal import dose_views, plan_views, side_effect_views, views
from tandem.portal import feed_views as calendar_views
from tandem.portal import fill_views as fill_pages

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("access-log/", views.access_log, name="access_log"),
    path("crisis/", views.crisis, name="crisis"),
    path("sharing/", views.sharing, name="sharing"),
    path("sharing/<int:consent_id>/revoke/", views.consent_revoke, name="consent_revoke"),
    path("plan/", plan_views.plan, name="plan"),
    path("plan/agree/", plan_views.plan_agree, name="plan_agree"),
    path("plan/question/", plan_views.plan_question, name="plan_question"),
    path("plan/goals/", plan_views.plan_goals, name="plan_goals"),
    path("doses/", dose_views.doses, name="doses"),
    path("doses/log/", dose_views.log_dose, name="log_dose"),
    path("calendar/", calendar_views.calendar, name="calendar"),
    path("calendar/new/", calendar_views.calendar_new, name="calendar_new"),
    path("calendar/revoke/", calendar_views.calendar_revoke, name="calendar_revoke"),
    path("calendar/titles/", calendar_views.calendar_titles, name="calendar_titles"),
    path("safety/", plan_views.safety, name="safety"),
    path("safety/<slug:kind>/edit/", plan_views.safety_edit, name="safety_edit"),
    path("safety/<slug:kind>/print/", plan_views.safety_print, name="safety_print"),
    path("side-effects/", side_effect_views.side_effects, name="side_effects"),
    path("side-effects/new/", side_effect_views.report_side_effect, name="side_effect"),
    path("side-effects/<int:report_id>/", side_effect_views.side_effect_detail, name="side_effect_detail"),
    path("fills/", fill_pages.fills, name="fills"),
]
