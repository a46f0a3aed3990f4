"""API tokens in the admin portal.

Tokens are made and revoked through `deployments.tokens`, never by a plain model save:
the raw token exists only in the response to the form that made it. Tokens are never
deleted, only revoked, so the list keeps who had access, from when, until when.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from .. import tokens
from ..models import ApiToken


class TokenState(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    OWNER_DEACTIVATED = "owner deactivated"


def token_state(token: ApiToken, now: datetime) -> TokenState:
    """The state `tokens.api_token_check` would find, checked in the same order."""
    if token.revoked_at is not None:
        return TokenState.REVOKED
    if token.expires_at is not None and token.expires_at <= now:
        return TokenState.EXPIRED
    if token.user_id is not None and not token.user.is_active:
        return TokenState.OWNER_DEACTIVATED
    return TokenState.ACTIVE


def token_state_filter(state: TokenState, now: datetime) -> Q:
    """The rows `token_state` puts in `state`, as a query (the list filter's)."""
    unrevoked = Q(revoked_at__isnull=True)
    unexpired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    return {
        TokenState.REVOKED: ~unrevoked,
        TokenState.EXPIRED: unrevoked & Q(expires_at__lte=now),
        TokenState.OWNER_DEACTIVATED: unrevoked & unexpired & Q(user__is_active=False),
        TokenState.ACTIVE: (
            unrevoked & unexpired & (Q(user__isnull=True) | Q(user__is_active=True))
        ),
    }[state]


class TokenStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        return [(state.value, state.value.capitalize()) for state in TokenState]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> QuerySet[ApiToken]:
        if self.value() not in {state.value for state in TokenState}:
            return queryset
        return queryset.filter(token_state_filter(TokenState(self.value()), timezone.now()))


# Where each of `tokens.api_token_errors`' attributes shows in the add form.
ERROR_FIELDS = {"name": "name", "role": "role", "expiresAt": "expires_at"}


class ApiTokenAddForm(forms.ModelForm):
    """Gathers what `tokens.api_token_create` needs; the admin calls it on save."""

    class Meta:
        model = ApiToken
        fields = ["name", "role", "expires_at", "user", "service_name"]
        help_texts = {
            "user": "A person's token: it stops working when the user is deactivated.",
            "service_name": "A pipeline's or a service's token, when no user owns it.",
            "expires_at": "Empty for a token that does not expire.",
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        user = cleaned.get("user")
        service_name = cleaned.get("service_name", "")
        problems = tokens.api_token_errors(
            name=cleaned.get("name", ""),
            role=cleaned.get("role", ""),
            user=user,
            service_name=service_name,
            expires_at=cleaned.get("expires_at"),
        )
        for problem in problems:
            field = ERROR_FIELDS.get(problem["attribute"])
            if field is None:  # the owner
                # On a field rather than the form: the model's own owner constraint then
                # skips its check, instead of saying the same thing a second time.
                field = "user" if user is not None and not service_name else "service_name"
            if field not in self.errors:  # a field error already says what is wrong
                self.add_error(field, problem["reason"].capitalize() + ".")
        return cleaned


class ApiTokenChangeForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name", "expires_at"]

    def clean_expires_at(self) -> datetime | None:
        expires_at = self.cleaned_data["expires_at"]
        if "expires_at" in self.changed_data and expires_at and expires_at <= timezone.now():
            raise forms.ValidationError("Must be in the future. To stop a token now, revoke it.")
        return expires_at


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "owner",
        "role_name",
        "starts_with",
        "state",
        "created_at",
        "expires_at",
        "last_used_at",
    ]
    list_filter = ["role", TokenStateFilter]
    search_fields = ["name", "prefix", "service_name", "user__username"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    actions = ["revoke_selected"]
    add_fieldsets = [
        (None, {"fields": ["name", "role", "expires_at"]}),
        ("Owner: a user or a service", {"fields": ["user", "service_name"]}),
    ]
    # The digest is in no fieldset and no column: it is never shown.
    fieldsets = [
        (None, {"fields": ["name", "owner", "role", "starts_with", "state", "expires_at"]}),
        ("History", {"fields": ["created_at", "created_by", "last_used_at", "revoked_at"]}),
    ]
    change_readonly_fields = [
        "owner",
        "role",
        "starts_with",
        "state",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
    ]

    @admin.display(ordering="user__username")
    def owner(self, token: ApiToken) -> str:
        return token.owner_label

    @admin.display(description="Role", ordering="role")
    def role_name(self, token: ApiToken) -> str:
        # "reader" / "writer": the full labels would take half the row.
        return token.role

    @admin.display(description="Starts with", ordering="prefix")
    def starts_with(self, token: ApiToken) -> str:
        return f"{token.prefix}…"

    @admin.display
    def state(self, token: ApiToken) -> str:
        return token_state(token, timezone.now()).value

    def get_fieldsets(self, request: HttpRequest, obj: ApiToken | None = None) -> list:
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list:
        return [] if obj is None else self.change_readonly_fields

    def get_form(
        self, request: HttpRequest, obj: ApiToken | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        kwargs["form"] = ApiTokenAddForm if obj is None else ApiTokenChangeForm
        return super().get_form(request, obj, change=change, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        # Revoked and expired tokens are the audit trail: shown, never edited.
        live = obj is None or token_state(obj, timezone.now()) not in (
            TokenState.REVOKED,
            TokenState.EXPIRED,
        )
        return live and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        # Revoking stops a token and keeps the record of who could call the API.
        return False

    def save_model(
        self, request: HttpRequest, obj: ApiToken, form: forms.ModelForm, change: bool
    ) -> None:
        if change:  # only the name and the expiry are in the change form
            super().save_model(request, obj, form, change)
            return
        issued = tokens.api_token_create(
            name=form.cleaned_data["name"],
            role=form.cleaned_data["role"],
            user=form.cleaned_data["user"],
            service_name=form.cleaned_data["service_name"],
            expires_at=form.cleaned_data["expires_at"],
            created_by=request.user,
        )
        # The admin goes on with `obj` (history entry, response): make it the saved token.
        obj.pk = issued.token.pk
        obj.refresh_from_db()
        # For response_add only: the request ends with this response, and the raw token
        # with it. Never in a message, the session or a redirect, which would store it.
        request.issued_api_token = issued

    def response_add(
        self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        issued = getattr(request, "issued_api_token", None)
        if issued is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "API token created",
            "token": issued.token,
            "raw_token": issued.raw,
            "details": [
                ("Name", issued.token.name),
                ("Owner", issued.token.owner_label),
                ("Role", issued.token.get_role_display()),
                ("Expires", issued.token.expires_at or "never"),
            ],
        }
        # Admin views send `Cache-Control: no-store` (never_cache), so no cache keeps it.
        return TemplateResponse(request, "admin/deployments/apitoken/token_created.html", context)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        **kwargs: Any,
    ) -> HttpResponse:
        if add:
            # Both would skip the page that shows the new token.
            context.update(show_save_and_add_another=False, show_save_and_continue=False)
        return super().render_change_form(request, context, add=add, change=change, **kwargs)

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = already = 0
        for token in queryset:
            if tokens.api_token_revoke(token=token):
                revoked += 1
                # The admin's history then says who revoked it, beside who made it.
                self.log_change(request, token, "Revoked.")
            else:
                already += 1
        message = f"Revoked {revoked} token{'s' if revoked != 1 else ''}."
        if already:
            message += f" {already} {'was' if already == 1 else 'were'} already revoked."
        self.message_user(request, message)
