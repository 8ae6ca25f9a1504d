from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef, Q, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from tandem.accounts.access import clinical_org_ids, is_clinician, primary_role
from tandem.audit.access import record_denied
from tandem.audit.actions import record_audit
from tandem.audit.models import Action
from tandem.lib import worklist
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.pagination import paginate
from tandem.patients import access
from tandem.patients.actions import (
    ConsentError,
    PortalInviteError,
    TeamError,
    do_add_care_team_member,
    do_break_glass,
    do_end_care_team_member,
    do_invite_to_portal,
    do_record_consent,
    do_revoke_consent,
    do_update_patient,
)
from tandem.patients.forms import (
    BreakGlassForm,
    CareTeamForm,
    ConsentForm,
    PatientForm,
    PatientSearchForm,
    RevokeConsentForm,
)
from tandem.patients.models import CareTeamMember, Category, Consent, Patient, active_on

# The tabs of the patient page. Each names the consent category it needs; later capabilities
# fill them (plan, medications, therapy, measures, messages).
TABS = {
    "plan": (Category.PLAN, "Plan"),
    "medications": (Category.MEDICATIONS, "Medications"),
    "therapy": (Category.THERAPY_SUMMARIES, "Therapy"),
    "measures": (Category.MEASURES, "Measures"),
    "messages": (Category.MESSAGES, "Messages"),
}


def _clinician_only(request: HttpRequest) -> None:
    if not is_clinician(request.user):
        record_denied(request, "PatientList", "")
        raise Http404


@login_required
def my_patients(request: AuthenticatedHttpRequest) -> HttpResponse:
    """'My patients': the patients the clinician may open, searchable by name or MRN."""
    _clinician_only(request)
    form = PatientSearchForm(request.GET)
    q = form.cleaned_data["q"].strip() if form.is_valid() else ""
    today = timezone.localdate()
    my_role = CareTeamMember.objects.filter(active_on(today), patient=OuterRef("pk"), user=request.user)
    patients = access.patients_for_clinician(request.user).select_related("organisation")
    if q:
        terms = Q()
        for word in q.split()[:4]:
            terms &= (
                Q(given_name__icontains=word)
                | Q(family_name__icontains=word)
                | Q(preferred_name__icontains=word)
                | Q(mrn__iexact=word)
            )
        patients = patients.filter(terms)
    from tandem.safety.models import SafetyFlag

    open_flags = SafetyFlag.objects.filter(patient=OuterRef("pk"), status="open")
    patients = patients.annotate(
        my_role=Subquery(my_role.values("role")[:1]), on_team=Exists(my_role), safety_flag=Exists(open_flags)
    ).order_by("family_name", "given_name", "id")
    page = paginate(request, patients)
    record_audit(
        actor=request.user,
        action=Action.READ,
        entity_type="PatientList",
        role=primary_role(request.user),
        organisation=min(clinical_org_ids(request.user)),
        request=request,
        # Which patients were shown, so that a list is accounted for like an opened record.
        extra={"q": q[:100], "page": page.number, "patients": [p.pk for p in page.object_list]},
    )
    if request.htmx:
        return render(
            request, "patients/_patient_rows.html", {"page": page, "form": form, "q": q, "today": today}
        )
    work = worklist.items_for(request.user)
    return render(
        request,
        "patients/my_patients.html",
        {"page": page, "form": form, "q": q, "today": today, "work": work},
    )


@login_required
def patient_detail(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_patient(request, patient_id)
    patient = grant.patient
    today = timezone.localdate()
    team = list(
        CareTeamMember.objects.filter(patient=patient)
        .select_related("user", "organisation")
        .order_by("end", "role")
    )
    consents = list(
        Consent.objects.filter(patient=patient).select_related(
            "grantee_user", "grantee_organisation", "recorded_by"
        )
    )
    context = {
        "grant": grant,
        "patient": patient,
        "today": today,
        "tabs": patient_tabs(grant),
        "tab": "overview",
        "team": [m for m in team if m.is_active_on(today)],
        "past_team": [m for m in team if not m.is_active_on(today)],
        "consents": consents,
        "age": patient.age_on(today),
    }
    return render(request, "patients/detail.html", context)


def patient_tabs(grant: access.PatientGrant) -> list[dict[str, object]]:
    # Tabs whose capability has its own pages link there; the rest use the placeholder tab.
    own_pages = {
        "plan": "plans:plan",
        "medications": "medications:list",
        "therapy": "therapy:overview",
        "measures": "measures:responses",
        "messages": "handoffs:threads",
    }
    pid = grant.patient.pk
    return [
        {
            "slug": slug,
            "label": label,
            "allowed": grant.allows(category),
            "url": reverse(own_pages[slug], kwargs={"patient_id": pid})
            if slug in own_pages
            else reverse("patients:tab", kwargs={"patient_id": pid, "tab": slug}),
        }
        for slug, (category, label) in TABS.items()
    ]


@login_required
def patient_tab(request: AuthenticatedHttpRequest, patient_id: int, tab: str) -> HttpResponse:
    if tab not in TABS:
        raise Http404
    category, label = TABS[tab]
    grant = access.access_patient(request, patient_id, need=category, entity=f"Patient/{tab}")
    own = next(t["url"] for t in patient_tabs(grant) if t["slug"] == tab)
    if own != request.path:
        return redirect(str(own))
    return render(
        request,
        "patients/tab.html",
        {
            "grant": grant,
            "patient": grant.patient,
            "tabs": patient_tabs(grant),
            "tab": tab,
            "label": label,
            "age": grant.patient.age_on(timezone.localdate()),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def patient_edit(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_patient(request, patient_id, need=access.MANAGE)
    patient = grant.patient
    form = PatientForm(request.POST or None, instance=patient, organisation=patient.organisation)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.changed_data}
        # The ModelForm wrote the values onto the instance; re-read it so the action compares.
        patient.refresh_from_db()
        changed = do_update_patient(
            patient, fields=fields, acting_user=request.user, request=request, role=grant.role
        )
        messages.success(request, "Saved." if changed else "Nothing changed.")
        return redirect("patients:detail", patient_id=patient.pk)
    if request.method == "POST":
        patient.refresh_from_db()
    return render(
        request,
        "patients/edit.html",
        {"form": form, "patient": patient, "grant": grant},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def team_add(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_patient(request, patient_id, need=access.MANAGE)
    patient = grant.patient
    form = CareTeamForm(request.POST or None, organisation=patient.organisation)
    if request.method == "POST" and form.is_valid():
        try:
            do_add_care_team_member(
                patient,
                user=form.cleaned_data["user"],
                role=form.cleaned_data["role"],
                acting_user=request.user,
                request=request,
            )
        except TeamError as exc:
            form.add_error("role", str(exc))
        else:
            messages.success(request, f"{form.cleaned_data['user']} joined the care team.")
            return redirect("patients:detail", patient_id=patient.pk)
    return render(
        request,
        "patients/team_add.html",
        {"form": form, "patient": patient, "grant": grant},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def team_end(request: AuthenticatedHttpRequest, patient_id: int, member_id: int) -> HttpResponse:
    grant = access.access_patient(request, patient_id, need=access.MANAGE)
    member = (
        CareTeamMember.objects.filter(id=member_id, patient=grant.patient).select_related("patient").first()
    )
    if member is None:
        record_denied(request, "CareTeamMember", member_id, patient=grant.patient)
        raise Http404
    if member.end is None or member.end >= timezone.localdate():
        do_end_care_team_member(member, acting_user=request.user, request=request)
        messages.success(request, f"{member.user} left the care team today.")
    return redirect("patients:detail", patient_id=grant.patient.pk)


@login_required
@require_http_methods(["GET", "POST"])
def consent_new(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_patient(request, patient_id, need=access.MANAGE)
    patient = grant.patient
    form = ConsentForm(request.POST or None, patient=patient, initial={"start": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            do_record_consent(
                patient,
                categories=data["categories"],
                grantee_user=data["grantee_user"],
                grantee_organisation=data["grantee_organisation"],
                start=data["start"],
                end=data["end"],
                purpose=data["purpose"],
                acting_user=request.user,
                request=request,
            )
        except ConsentError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Consent recorded.")
            return redirect("patients:detail", patient_id=patient.pk)
    return render(
        request,
        "patients/consent_new.html",
        {"form": form, "patient": patient, "grant": grant},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def consent_revoke(request: AuthenticatedHttpRequest, patient_id: int, consent_id: int) -> HttpResponse:
    grant = access.access_patient(request, patient_id, need=access.MANAGE)
    consent = Consent.objects.filter(id=consent_id, patient=grant.patient).select_related("patient").first()
    if consent is None:
        record_denied(request, "Consent", consent_id, patient=grant.patient)
        raise Http404
    form = RevokeConsentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason for revoking the consent.")
    else:
        do_revoke_consent(
            consent, reason=form.cleaned_data["reason"], acting_user=request.user, request=request
        )
        messages.success(request, "Consent revoked.")
    return redirect("patients:detail", patient_id=grant.patient.pk)


@login_required
@require_POST
def portal_invite(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_patient(request, patient_id, need=access.MANAGE)
    try:
        user = do_invite_to_portal(grant.patient, acting_user=request.user, request=request, role=grant.role)
    except PortalInviteError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"A link to set a portal password was e-mailed to {user.email}.")
    return redirect("patients:detail", patient_id=grant.patient.pk)


@login_required
@require_http_methods(["GET", "POST"])
def break_glass(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Emergency access to a patient of the clinician's own organisation, with a written reason."""
    _clinician_only(request)
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        patient = Patient.objects.filter(
            mrn=form.cleaned_data["mrn"].strip(),
            organisation_id__in=clinical_org_ids(request.user),
            is_active=True,
        ).first()
        if patient is None:
            record_denied(request, "Patient", f"mrn:{form.cleaned_data['mrn'][:30]}")
            form.add_error("mrn", "No patient with this MRN in your organisation.")
        else:
            do_break_glass(patient, user=request.user, reason=form.cleaned_data["reason"], request=request)
            messages.warning(
                request, "Emergency access granted. It is recorded, and the care team has been told."
            )
            return redirect("patients:detail", patient_id=patient.pk)
    return render(request, "patients/break_glass.html", {"form": form}, status=400 if form.errors else 200)
