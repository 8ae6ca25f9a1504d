"""The org admin's pages: the organisation's members and patients, and new ones."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tandem.accounts.access import access_admin_organisation, access_org_member
from tandem.accounts.actions import do_create_user, do_deactivate_user, send_set_password_email
from tandem.accounts.models import Membership, Role, User
from tandem.audit.actions import record_audit
from tandem.audit.models import Action
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.pagination import paginate
from tandem.patients.access import patients_for_admin
from tandem.patients.actions import do_create_patient
from tandem.patients.forms import PatientForm, PatientSearchForm


class MemberForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=200)
    email = forms.EmailField(label="Email")
    credentials = forms.CharField(
        label="Credentials", max_length=60, required=False, help_text="e.g. MD, LCSW"
    )
    roles = forms.MultipleChoiceField(
        label="Roles", choices=Role.choices, widget=forms.CheckboxSelectMultiple
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError("An account with this email already exists.")
        return email


@login_required
def members(request: AuthenticatedHttpRequest) -> HttpResponse:
    org = access_admin_organisation(request)
    people = (
        User.objects.filter(memberships__organisation=org)
        .distinct()
        .prefetch_related(Prefetch("memberships", queryset=Membership.objects.filter(organisation=org)))
        .order_by("full_name")
    )
    page = paginate(request, people, per_page=50)
    return render(request, "manage/members.html", {"org": org, "page": page})


@login_required
@require_http_methods(["GET", "POST"])
def member_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    org = access_admin_organisation(request)
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = do_create_user(
            email=data["email"],
            full_name=data["full_name"],
            credentials=data["credentials"],
            password=None,
            organisation=org,
            roles=data["roles"],
            acting_user=request.user,
            request=request,
        )
        send_set_password_email(user, welcome=True)
        messages.success(request, f"{user.full_name} was added and e-mailed a link to set a password.")
        return redirect("manage:members")
    return render(
        request, "manage/member_new.html", {"org": org, "form": form}, status=400 if form.errors else 200
    )


@login_required
@require_POST
def member_deactivate(request: AuthenticatedHttpRequest, user_id: int) -> HttpResponse:
    org = access_admin_organisation(request)
    user = access_org_member(request, org, user_id)
    if user.pk == request.user.pk:
        messages.error(request, "You cannot deactivate yourself.")
    else:
        do_deactivate_user(user, organisation=org, acting_user=request.user, request=request)
        messages.success(request, f"{user.full_name} was deactivated and signed out everywhere.")
    return redirect("manage:members")


@login_required
def patients(request: AuthenticatedHttpRequest) -> HttpResponse:
    org = access_admin_organisation(request)
    form = PatientSearchForm(request.GET)
    q = form.cleaned_data["q"].strip() if form.is_valid() else ""
    rows = patients_for_admin(org.pk).only(
        "id", "mrn", "given_name", "family_name", "preferred_name", "is_active"
    )
    if q:
        rows = rows.filter(mrn__iexact=q) | rows.filter(family_name__icontains=q)
    page = paginate(request, rows.order_by("family_name", "given_name", "id"), per_page=50)
    record_audit(
        actor=request.user,
        action=Action.READ,
        entity_type="PatientList",
        role="org_admin",
        organisation=org.pk,
        request=request,
        extra={"q": q[:100], "page": page.number, "admin": True},
    )
    return render(request, "manage/patients.html", {"org": org, "page": page, "form": form, "q": q})


@login_required
@require_http_methods(["GET", "POST"])
def patient_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    org = access_admin_organisation(request)
    form = PatientForm(request.POST or None, organisation=org, initial={"time_zone": org.time_zone})
    if request.method == "POST" and form.is_valid():
        patient = do_create_patient(
            organisation=org,
            fields=form.cleaned_data,
            acting_user=request.user,
            request=request,
        )
        messages.success(request, f"{patient.name} was added. Add the care team next.")
        return redirect("patients:detail", patient_id=patient.pk)
    return render(
        request, "manage/patient_new.html", {"org": org, "form": form}, status=400 if form.errors else 200
    )
