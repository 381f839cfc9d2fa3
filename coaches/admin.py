"""Coaches admin: the verification queue, decisions with history, managed lists, reviews.

Every decision goes through ``coaches.services`` (locks, transition table, history row,
e-mail after commit); the admin only collects the reason.
"""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from coaches.models import (
    LANGUAGE_NAMES,
    ApplicationDecision,
    ApplicationStatus,
    CertifyingBody,
    CoachApplication,
    CoachMembership,
    CoachProfile,
    MembershipPlan,
    Review,
    SessionType,
    Specialization,
)
from coaches.selectors import coach_fee_terms
from coaches.services import applications, memberships, reviews, search_index
from marketplace.errors import DomainError
from marketplace.models import User
from marketplace.money import format_money, format_percent


def _staff(request: HttpRequest) -> User:
    """The signed-in staff member (admin views require one)."""
    return cast(User, request.user)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        label="Reason (sent to the coach)",
    )


class ApplicationDecisionInline(admin.TabularInline):
    model = ApplicationDecision
    extra = 0
    can_delete = False
    fields = ("created_at", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields
    verbose_name = "decision"
    verbose_name_plural = "history of decisions"

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ApplicationStatusFilter(admin.SimpleListFilter):
    """The status filter, on Submitted (the applications waiting for a decision) until staff
    choose another status or all of them."""

    title = "status"
    parameter_name = "status"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [(self.ALL, "All"), *ApplicationStatus.choices]

    def value(self) -> str:
        return super().value() or ApplicationStatus.SUBMITTED.value

    def queryset(self, request, queryset):
        if self.value() == self.ALL:
            return queryset
        return queryset.filter(status=self.value())

    def choices(self, changelist):
        for value, label in self.lookup_choices:
            yield {
                "selected": self.value() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }


@admin.register(CoachApplication)
class CoachApplicationAdmin(admin.ModelAdmin):
    change_form_template = "coaches/admin/application_change_form.html"
    list_display = [
        "full_name",
        "email",
        "status",
        "certifying_body",
        "certification_level",
        "submitted_at",
        "certificate_link",
    ]
    list_filter = [
        ApplicationStatusFilter,
        "certifying_body",
        "certification_level",
        "submitted_at",
    ]
    search_fields = ["full_name", "coach__user__email", "certificate_number", "phone"]
    list_select_related = ["coach__user", "certifying_body"]
    # Oldest waiting first; the list opens on the submitted ones (changelist_view).
    ordering = ["submitted_at", "pk"]
    date_hierarchy = "submitted_at"
    actions = ["approve_selected", "reject_selected"]
    inlines = [ApplicationDecisionInline]
    fieldsets = [
        (
            "Status",
            {"fields": ["status", "submitted_at", "decided_at", "decided_by", "rejection_reason"]},
        ),
        ("Personal", {"fields": ["full_name", "email", "phone", "location", "time_zone"]}),
        (
            "Certification",
            {
                "fields": [
                    "certifying_body",
                    "certificate_number",
                    "certification_level",
                    "certified_on",
                    "certificate_preview",
                ]
            },
        ),
        ("Experience", {"fields": ["years_experience", "specializations", "other_certifications"]}),
        ("Business", {"fields": ["headline", "bio", "services", "languages", "session_types"]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [
            str(field) for _, options in self.fieldsets or [] for field in options.get("fields", [])
        ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="e-mail", ordering="coach__user__email")
    def email(self, application: CoachApplication) -> str:
        return application.coach.user.email

    @admin.display(description="location")
    def location(self, application: CoachApplication) -> str:
        return application.coach.location

    @admin.display(description="time zone")
    def time_zone(self, application: CoachApplication) -> str:
        return application.coach.time_zone

    @admin.display(description="specialisations")
    def specializations(self, application: CoachApplication) -> str:
        return ", ".join(str(item) for item in application.coach.specializations.all())

    @admin.display(description="headline")
    def headline(self, application: CoachApplication) -> str:
        return application.coach.headline

    @admin.display(description="bio")
    def bio(self, application: CoachApplication) -> str:
        return application.coach.bio

    @admin.display(description="languages")
    def languages(self, application: CoachApplication) -> str:
        return ", ".join(LANGUAGE_NAMES.get(code, code) for code in application.coach.languages)

    @admin.display(description="session types")
    def session_types(self, application: CoachApplication) -> str:
        return ", ".join(
            f"{item.name} ({item.duration_minutes} min, {item.price} {item.currency.upper()} minor)"
            for item in application.coach.session_types.filter(is_active=True)
        )

    @admin.display(description="certificate")
    def certificate_link(self, application: CoachApplication) -> str:
        if not application.certificate_file:
            return "—"
        url = reverse("coaches:certificate", args=[application.pk])
        return format_html('<a href="{}?download=1">Download</a>', url)

    @admin.display(description="certificate")
    def certificate_preview(self, application: CoachApplication) -> str:
        if not application.certificate_file:
            return "No file uploaded."
        url = reverse("coaches:certificate", args=[application.pk])
        kind = application.certificate_content_type
        if kind.startswith("image/"):
            return format_html(
                '<a href="{0}"><img src="{0}" alt="Certificate of {1}" class="certificate-preview"'
                ' width="480"></a><br><a href="{0}?download=1">Download</a> ({2})',
                url,
                application.full_name,
                kind,
            )
        return format_html(
            '<a href="{0}" target="_blank" rel="noopener">Open the PDF</a> · '
            '<a href="{0}?download=1">Download</a> ({1}, uploaded as “{2}”)',
            url,
            kind,
            application.certificate_original_name,
        )

    # --- decisions ---------------------------------------------------------------------

    @admin.action(description="Approve selected applications")
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[CoachApplication]) -> None:
        approved = failed = 0
        for application in queryset:
            try:
                applications.application_approve(application=application, by=_staff(request))
                approved += 1
            except DomainError as error:
                failed += 1
                self.message_user(request, f"{application}: {error.message}", messages.ERROR)
        if approved:
            self.message_user(request, f"Approved {approved} application(s).", messages.SUCCESS)

    @admin.action(description="Reject selected applications (asks for a reason)")
    def reject_selected(
        self, request: HttpRequest, queryset: QuerySet[CoachApplication]
    ) -> HttpResponse | None:
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            rejected = 0
            for application in queryset:
                try:
                    applications.application_reject(
                        application=application,
                        by=_staff(request),
                        reason=form.cleaned_data["reason"],
                    )
                    rejected += 1
                except DomainError as error:
                    self.message_user(request, f"{application}: {error.message}", messages.ERROR)
            if rejected:
                self.message_user(request, f"Rejected {rejected} application(s).", messages.SUCCESS)
            return None
        return TemplateResponse(
            request,
            "coaches/admin/reject.html",
            {
                **self.admin_site.each_context(request),
                "title": "Reject applications",
                "applications": queryset,
                "form": form,
                "action": "reject_selected",
                "opts": self.model._meta,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )

    def get_urls(self):  # type: ignore[no-untyped-def]
        return [
            path(
                "<int:pk>/decide/<str:decision>/",
                self.admin_site.admin_view(self.decide_view),
                name="coaches_coachapplication_decide",
            ),
            *super().get_urls(),
        ]

    def decide_view(self, request: HttpRequest, pk: int, decision: str) -> HttpResponse:
        """Approve or reject one application from its page."""
        if not self.has_change_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        application = get_object_or_404(CoachApplication, pk=pk)
        back = reverse("admin:coaches_coachapplication_change", args=[pk])
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and (decision == "approve" or form.is_valid()):
            try:
                if decision == "approve":
                    applications.application_approve(application=application, by=_staff(request))
                else:
                    applications.application_reject(
                        application=application,
                        by=_staff(request),
                        reason=form.cleaned_data["reason"],
                    )
            except DomainError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(request, f"Application {decision}d.", messages.SUCCESS)
            return HttpResponseRedirect(back)
        return TemplateResponse(
            request,
            "coaches/admin/decide.html",
            {
                **self.admin_site.each_context(request),
                "title": f"{decision.title()} {application}",
                "application": application,
                "decision": decision,
                "form": form,
                "back": back,
                "opts": self.model._meta,
            },
        )

    def render_change_form(self, request, context, *args, **kwargs):  # type: ignore[no-untyped-def]
        obj = kwargs.get("obj")
        if obj is not None:
            context["can_approve"] = obj.status == ApplicationStatus.SUBMITTED
            context["can_reject"] = obj.status in (
                ApplicationStatus.SUBMITTED,
                ApplicationStatus.APPROVED,
            )
        return super().render_change_form(request, context, *args, **kwargs)


@admin.register(CertifyingBody)
class CertifyingBodyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Specialization)
class SpecializationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}

    def save_related(self, request, form, formsets, change):  # type: ignore[no-untyped-def]
        super().save_related(request, form, formsets, change)
        if change:
            search_index.coach_search_vectors_refresh(
                coach_ids=form.instance.coaches.values_list("pk", flat=True)
            )


class SessionTypeInline(admin.TabularInline):
    model = SessionType
    extra = 0
    fields = ("name", "duration_minutes", "price_with_currency", "is_active")
    readonly_fields = fields
    can_delete = False

    @admin.display(description="price")
    def price_with_currency(self, session_type: SessionType) -> str:
        return format_money(session_type.price, session_type.currency)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(CoachProfile)
class CoachProfileAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "slug",
        "time_zone",
        "is_approved",
        "can_take_charges",
        "rating_average",
        "rating_count",
    ]
    list_filter = ["is_approved", "can_take_charges", "specializations"]
    search_fields = ["user__email", "user__first_name", "user__last_name", "slug"]
    list_select_related = ["user"]
    readonly_fields = [
        "user",
        "is_approved",
        "can_take_charges",
        "rating_average",
        "rating_count",
        "lowest_price",
        "next_available_at",
        "availability_indexed_at",
        "languages_by_name",
        "platform_fee_now",
    ]
    fields = [
        *readonly_fields,
        "fee_bps_override",
        "minimum_fee_override",
        "conferencing_url",
    ]
    inlines = [SessionTypeInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="lowest price")
    def lowest_price(self, coach: CoachProfile) -> str:
        return format_money(coach.min_price, coach.currency) if coach.min_price else "—"

    @admin.display(description="platform fee now")
    def platform_fee_now(self, coach: CoachProfile) -> str:
        """The fee rule's answer: the override, else the platform's, lowered by an active
        platform membership."""
        terms = coach_fee_terms(coach)
        text = format_percent(terms.fee_bps)
        if terms.membership:
            text += f" ({terms.membership} membership)"
        if terms.minimum_fee:
            text += f", at least {format_money(terms.minimum_fee, coach.currency)}"
        return text

    @admin.display(description="languages")
    def languages_by_name(self, coach: CoachProfile) -> str:
        return ", ".join(LANGUAGE_NAMES.get(code, code) for code in coach.languages) or "—"


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["coach", "client", "rating", "is_hidden", "created_at"]
    list_filter = ["is_hidden", "rating", "created_at"]
    search_fields = ["text", "coach__user__email", "client__email"]
    list_select_related = ["coach__user", "client"]
    readonly_fields = [
        "booking",
        "coach",
        "client",
        "rating",
        "text",
        "coach_reply",
        "replied_at",
        "is_hidden",
        "hidden_reason",
        "created_at",
    ]
    actions = ["hide_selected", "show_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="Hide selected reviews")
    def hide_selected(self, request: HttpRequest, queryset: QuerySet[Review]) -> None:
        for review in queryset:
            reviews.review_set_hidden(
                review=review, hidden=True, by=_staff(request), reason="Hidden by staff"
            )
        self.message_user(request, f"Hid {queryset.count()} review(s).", messages.SUCCESS)

    @admin.action(description="Show selected reviews again")
    def show_selected(self, request: HttpRequest, queryset: QuerySet[Review]) -> None:
        for review in queryset:
            reviews.review_set_hidden(review=review, hidden=False, by=_staff(request))
        self.message_user(request, f"Showed {queryset.count()} review(s).", messages.SUCCESS)


# --- platform membership -------------------------------------------------------------------


@admin.register(MembershipPlan)
class MembershipPlanAdmin(admin.ModelAdmin):
    """Staff's membership plans. Saving goes through ``memberships.membership_plan_save``: the
    Stripe Product, and a new Price whenever the price, currency or interval changed, are
    made once the save commits (a Price is fixed once made; members keep theirs)."""

    list_display = ["name", "price_per_period", "fee", "is_active", "members", "stripe_price"]
    list_filter = ["is_active", "interval", "currency"]
    search_fields = ["name"]
    fields = [
        "name",
        "description",
        "price",
        "currency",
        "interval",
        "fee_bps",
        "is_active",
        "stripe_product_id",
        "stripe_price_id",
        "stripe_price",
    ]
    readonly_fields = ["stripe_product_id", "stripe_price_id", "stripe_price"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[MembershipPlan]:
        live = Q(memberships__status__in=["active", "past_due"])
        return super().get_queryset(request).annotate(member_count=Count("memberships", live))

    @admin.display(description="price")
    def price_per_period(self, plan: MembershipPlan) -> str:
        return f"{plan.price_display} a {plan.interval}"

    @admin.display(description="fee while a member", ordering="fee_bps")
    def fee(self, plan: MembershipPlan) -> str:
        return format_percent(plan.fee_bps)

    @admin.display(description="members", ordering="member_count")
    def members(self, plan: MembershipPlan) -> int:
        return getattr(plan, "member_count", 0)

    @admin.display(description="Stripe price")
    def stripe_price(self, plan: MembershipPlan) -> str:
        if plan.pk is None:
            return "Made when the plan is saved."
        if plan.has_current_price:
            return f"Current ({plan.stripe_price_id})"
        return "Being made at Stripe (reload in a moment)."

    def save_model(self, request: HttpRequest, obj: MembershipPlan, form, change) -> None:  # type: ignore[no-untyped-def]
        memberships.membership_plan_save(plan=obj)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # A plan with members is kept (their memberships point at it); stop offering it.
        return False


@admin.register(CoachMembership)
class CoachMembershipAdmin(admin.ModelAdmin):
    """Coaches' memberships, as Stripe's subscriptions made them: read only here."""

    list_display = ["coach", "plan", "status", "fee", "started_at", "ended_at", "renews"]
    list_filter = ["status", "plan"]
    search_fields = ["coach__user__email", "coach__slug", "subscription__stripe_subscription_id"]
    list_select_related = ["coach__user", "plan", "subscription"]
    readonly_fields = [
        "coach",
        "plan",
        "status",
        "fee_bps",
        "subscription",
        "stripe_subscription",
        "past_due_since",
        "created_at",
        "started_at",
        "ended_at",
    ]
    fields = [*readonly_fields]

    @admin.display(description="fee", ordering="fee_bps")
    def fee(self, membership: CoachMembership) -> str:
        return format_percent(membership.fee_bps)

    @admin.display(description="Stripe subscription")
    def stripe_subscription(self, membership: CoachMembership) -> str:
        return membership.subscription.stripe_subscription_id or "—"

    @admin.display(description="renews", boolean=True)
    def renews(self, membership: CoachMembership) -> bool:
        return membership.is_live and not membership.subscription.cancel_at_period_end

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
