"""/patients/<patient_id>/plan/…: the plan and safety documents, clinician side."""

from django.urls import path

from tandem.plans.views import plan, safety

app_name = "plans"
urlpatterns = [
    path("<int:patient_id>/plan/", plan.plan_home, name="plan"),
    path("<int:patient_id>/plan/new/", plan.plan_create, name="create"),
    path("<int:patient_id>/plan/<int:plan_id>/edit/<slug:section>/", plan.edit_section, name="edit_section"),
    path("<int:patient_id>/plan/<int:plan_id>/status/", plan.set_status, name="status"),
    path("<int:patient_id>/plan/<int:plan_id>/revisions/", plan.revisions, name="revisions"),
    path("<int:patient_id>/plan/<int:plan_id>/revisions/<int:number>/", plan.revision, name="revision"),
    path("<int:patient_id>/plan/<int:plan_id>/diff/", plan.diff, name="diff"),
    path("<int:patient_id>/plan/<int:plan_id>/restore/<int:number>/", plan.restore, name="restore"),
    path("<int:patient_id>/plan/<int:plan_id>/acknowledge/", plan.acknowledge, name="acknowledge"),
    path("<int:patient_id>/plan/<int:plan_id>/comment/", plan.comment, name="comment"),
    path("<int:patient_id>/plan/<int:plan_id>/propose/<slug:section>/", plan.propose, name="propose"),
    path(
        "<int:patient_id>/plan/<int:plan_id>/proposals/<int:proposal_id>/decide/", plan.decide, name="decide"
    ),
    path(
        "<int:patient_id>/plan/<int:plan_id>/questions/<int:question_id>/answer/", plan.answer, name="answer"
    ),
    *safety.urlpatterns,
]
