"""The admin portal: API tokens made, shown once, revoked; deployments read-only."""

import re
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from deployments import roles
from deployments.models import ApiToken
from deployments.tokens import TOKEN_PREFIX, api_token_create, api_token_revoke, token_digest

pytestmark = pytest.mark.django_db

TOKENS = reverse("admin:deployments_apitoken_changelist")
ADD = reverse("admin:deployments_apitoken_add")
RAW_TOKEN = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]{40,}")


def token_url(action: str, token: ApiToken) -> str:
    return reverse(f"admin:deployments_apitoken_{action}", args=[token.pk])


def make_user(username, *role_names, is_staff=False, is_superuser=False):
    user = get_user_model().objects.create_user(
        username, is_staff=is_staff, is_superuser=is_superuser
    )
    user.groups.set(Group.objects.filter(name__in=role_names))
    return user


@pytest.fixture
def admin_user():
    # As create_demo_users makes the admin: staff, in the admin group, not a superuser.
    return make_user("admin", roles.ADMIN, is_staff=True)


@pytest.fixture
def admin_client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def make_token(name="ci", role="reader", user=None, expires_at=None):
    service_name = "" if user else "ci-pipeline"
    return api_token_create(
        name=name, role=role, user=user, service_name=service_name, expires_at=expires_at
    )


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def add_form(**fields):
    data = {"name": "deploy bot", "role": "writer", "service_name": "", "user": ""}
    data.update(fields)
    return data


def expiry_fields(when) -> dict:
    local = timezone.localtime(when)
    return {"expires_at_0": local.strftime("%Y-%m-%d"), "expires_at_1": local.strftime("%H:%M:%S")}


# The list


def test_an_admin_lists_tokens_without_their_digests(admin_client, admin_user):
    service = make_token(name="pipeline", role="writer")
    personal = make_token(name="laptop", user=admin_user)

    html = page(admin_client.get(TOKENS))

    for expected in (
        "pipeline",
        "laptop",
        "service:ci-pipeline",
        ">admin<",
        "Writer (",
        "Reader (",
    ):
        assert expected in html
    for issued in (service, personal):
        assert f"{issued.token.prefix}…" in html
        assert issued.token.digest not in html
        assert issued.raw not in html
    assert html.count(">active<") == 2


def test_the_list_shows_each_state(admin_client):
    revoked = make_token(name="old").token
    api_token_revoke(token=revoked)
    make_token(name="dated", expires_at=timezone.now() + timedelta(days=1))
    ApiToken.objects.filter(name="dated").update(expires_at=timezone.now() - timedelta(days=1))
    owner = make_user("leaver")
    make_token(name="leavers", user=owner)
    owner.is_active = False
    owner.save()
    make_token(name="live")

    html = page(admin_client.get(TOKENS))

    for state in ("revoked", "expired", "owner deactivated", "active"):
        assert f">{state}<" in html


def tokens_listed(client, **query) -> set[str]:
    response = client.get(TOKENS, query)
    assert response.status_code == 200
    return {token.name for token in response.context["cl"].result_list}


def test_the_list_filters_by_role_and_state(admin_client):
    make_token(name="reads", role="reader")
    make_token(name="writes", role="writer")
    api_token_revoke(token=make_token(name="revoked", role="writer").token)
    expired = make_token(name="expired", expires_at=timezone.now() + timedelta(days=1)).token
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))

    assert tokens_listed(admin_client, role="writer") == {"writes", "revoked"}
    assert tokens_listed(admin_client, state="active") == {"reads", "writes"}
    assert tokens_listed(admin_client, state="revoked") == {"revoked"}
    assert tokens_listed(admin_client, state="expired") == {"expired"}
    assert tokens_listed(admin_client, role="writer", state="active") == {"writes"}


def test_the_list_searches_name_prefix_and_owner(admin_client):
    alice = make_user("alice")
    mine = make_token(name="alice laptop", user=alice)
    api_token_create(name="nightly", role="reader", service_name="release-bot")

    assert tokens_listed(admin_client, q="laptop") == {"alice laptop"}
    assert tokens_listed(admin_client, q=mine.token.prefix) == {"alice laptop"}
    assert tokens_listed(admin_client, q="alice") == {"alice laptop"}
    assert tokens_listed(admin_client, q="release-bot") == {"nightly"}


def test_the_list_costs_the_same_queries_for_more_tokens(
    admin_client, django_assert_max_num_queries
):
    owners = [make_user(f"user{index}") for index in range(5)]
    make_token(user=owners[0])
    admin_client.get(TOKENS)  # warm: sessions, permissions, content types
    with django_assert_max_num_queries(20) as few:
        admin_client.get(TOKENS)
    for owner in owners[1:]:
        make_token(user=owner)

    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get(TOKENS)


# Making a token


def test_the_add_form_asks_for_name_owner_role_and_expiry(admin_client):
    html = page(admin_client.get(ADD))

    for field in ("name", "user", "service_name", "role", "expires_at_0"):
        assert f'name="{field}"' in html
    assert 'name="digest"' not in html and 'name="prefix"' not in html
    # Both would skip the page that shows the new token.
    assert 'name="_addanother"' not in html and 'name="_continue"' not in html


def test_adding_a_token_shows_it_once_and_stores_only_its_digest(admin_client, admin_user):
    response = admin_client.post(ADD, add_form(service_name="ci-pipeline"))

    html = page(response)
    assert [t.name for t in response.templates][
        0
    ] == "admin/deployments/apitoken/token_created.html"
    [raw] = set(RAW_TOKEN.findall(html))
    assert html.count(raw) == 1
    assert "only time" in html or "only this once" in html
    token = ApiToken.objects.get()
    assert (token.name, token.role, token.service_name) == ("deploy bot", "writer", "ci-pipeline")
    assert token.created_by == admin_user
    assert token.digest == token_digest(raw)
    assert token.digest not in html
    assert raw.startswith(token.prefix)
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert not any(raw in str(value) for value in stored.values())
    assert "no-store" in response["Cache-Control"]

    # Never again: not in the list, the record, its history, nor the admin's log.
    for url in (TOKENS, token_url("change", token), token_url("history", token)):
        assert raw not in page(admin_client.get(url))
    assert LogEntry.objects.filter(object_id=str(token.pk)).count() == 1
    assert not any(raw in str(entry.__dict__) for entry in LogEntry.objects.all())


def test_the_token_made_in_the_admin_opens_the_api(admin_client):
    html = page(admin_client.post(ADD, add_form(service_name="ci", role="reader")))
    [raw] = set(RAW_TOKEN.findall(html))

    response = Client().get(
        "/api/v2/engineering-insights/deployments",
        {"projectKey": "default", "environmentKey": "production"},
        headers={"Authorization": raw},
    )

    assert response.status_code not in (401, 403)


def test_adding_a_token_for_a_user_with_an_expiry(admin_client):
    alice = make_user("alice")
    expires = timezone.now().replace(microsecond=0) + timedelta(days=30)

    page(admin_client.post(ADD, add_form(user=alice.pk, **expiry_fields(expires))))

    token = ApiToken.objects.get()
    assert (token.user, token.service_name, token.expires_at) == (alice, "", expires)


def test_save_and_continue_still_shows_the_token_once(admin_client):
    response = admin_client.post(ADD, {**add_form(service_name="ci"), "_continue": "1"})

    assert len(set(RAW_TOKEN.findall(page(response)))) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "A token belongs to a user or a service."),
        ({"service_name": "ci", "user": "owner"}, "A user or a service, not both."),
        ({"user": "inactive"}, "The user is deactivated."),
        ({"service_name": "ci", "name": ""}, "This field is required."),
        ({"service_name": "ci", "role": "admin"}, "Select a valid choice."),
        ({"service_name": "ci", "expires": "past"}, "Must be in the future."),
    ],
)
def test_an_invalid_add_form_makes_nothing_and_says_why_once(admin_client, fields, message):
    owner = make_user("owner")
    inactive = make_user("inactive")
    inactive.is_active = False
    inactive.save()
    users = {"owner": owner.pk, "inactive": inactive.pk}
    fields = {key: users.get(value, value) for key, value in fields.items()}
    if fields.pop("expires", None):
        fields.update(expiry_fields(timezone.now() - timedelta(days=1)))

    html = page(admin_client.post(ADD, add_form(**fields)))

    assert html.count(message) == 1
    assert not RAW_TOKEN.search(html)
    assert not ApiToken.objects.exists()


# Changing and revoking


def test_only_the_name_and_expiry_of_a_token_can_change(admin_client):
    issued = make_token(name="old name")
    token = issued.token
    change = token_url("change", token)
    html = page(admin_client.get(change))
    assert 'name="name"' in html and 'name="expires_at_0"' in html
    for field in ("role", "service_name", "user", "digest", "prefix"):
        assert f'name="{field}"' not in html
    assert token.digest not in html
    expires = timezone.now().replace(microsecond=0) + timedelta(days=7)

    response = admin_client.post(
        change,
        {
            "name": "new name",
            **expiry_fields(expires),
            "role": "writer",
            "digest": "0" * 64,
            "prefix": "api-forged",
            "service_name": "other",
        },
    )

    assert response.status_code == 302
    token.refresh_from_db()
    assert (token.name, token.expires_at) == ("new name", expires)
    assert (token.role, token.service_name) == ("reader", "ci-pipeline")
    assert (token.digest, token.prefix) == (token_digest(issued.raw), issued.raw[:10])


def test_a_tokens_expiry_cannot_be_moved_into_the_past(admin_client):
    token = make_token().token

    response = admin_client.post(
        token_url("change", token),
        {"name": "ci", **expiry_fields(timezone.now() - timedelta(minutes=1))},
    )

    assert "Must be in the future. To stop a token now, revoke it." in page(response)
    token.refresh_from_db()
    assert token.expires_at is None


def test_a_revoked_token_is_shown_read_only(admin_client):
    token = make_token().token
    api_token_revoke(token=token)

    html = page(admin_client.get(token_url("change", token)))

    assert 'name="_save"' not in html and 'name="name"' not in html
    response = admin_client.post(token_url("change", token), {"name": "renamed"})
    assert response.status_code == 403
    token.refresh_from_db()
    assert token.name == "ci"


def revoke(client, *tokens):
    return client.post(
        TOKENS,
        {"action": "revoke_selected", "_selected_action": [token.pk for token in tokens]},
        follow=True,
    )


def test_the_revoke_action_revokes_the_selected_tokens(admin_client, admin_user):
    first, second, untouched = (make_token(name=name).token for name in ("a", "b", "c"))

    html = page(revoke(admin_client, first, second))

    assert "Revoked 2 tokens." in html
    assert set(
        ApiToken.objects.filter(revoked_at__isnull=False).values_list("name", flat=True)
    ) == {
        "a",
        "b",
    }
    untouched.refresh_from_db()
    assert untouched.revoked_at is None
    entry = LogEntry.objects.get(object_id=str(first.pk))
    assert (entry.user, entry.get_change_message()) == (admin_user, "Revoked.")


def test_revoking_again_changes_nothing(admin_client):
    token = make_token().token
    revoke(admin_client, token)
    first = ApiToken.objects.get().revoked_at

    html = page(revoke(admin_client, token))

    assert "Revoked 0 tokens. 1 was already revoked." in html
    assert ApiToken.objects.get().revoked_at == first


def test_a_revoked_token_no_longer_opens_the_api(admin_client):
    issued = make_token()
    revoke(admin_client, issued.token)

    response = Client().get(
        "/api/v2/engineering-insights/deployments", headers={"Authorization": issued.raw}
    )

    assert response.status_code == 401


@pytest.mark.parametrize("superuser", [False, True])
def test_tokens_are_never_deleted_only_revoked(superuser, admin_user):
    client = Client()
    client.force_login(
        make_user("root", is_staff=True, is_superuser=True) if superuser else admin_user
    )
    token = make_token().token

    assert client.get(token_url("delete", token)).status_code == 403
    assert client.post(token_url("delete", token), {"post": "yes"}).status_code == 403
    html = page(client.get(TOKENS))
    assert "delete_selected" not in html and "revoke_selected" in html
    response = client.post(TOKENS, {"action": "delete_selected", "_selected_action": [token.pk]})
    assert response.status_code in (200, 302)
    assert ApiToken.objects.filter(pk=token.pk).exists()


# Who sees tokens


def test_a_viewer_is_sent_to_the_login_page(db):
    client = Client()
    client.force_login(make_user("viewer", roles.VIEWER))

    for url in (TOKENS, ADD, reverse("admin:index")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_staff_outside_the_admin_group_cannot_see_tokens(db):
    client = Client()
    client.force_login(make_user("helpdesk", roles.RELEASE_CAPTAIN, is_staff=True))
    token = make_token().token

    for url in (TOKENS, ADD, token_url("change", token)):
        assert client.get(url).status_code == 403
    assert "apitoken" not in page(client.get(reverse("admin:index")))
    assert revoke(client, token).status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_admin_index_lists_tokens_for_an_admin(admin_client):
    assert reverse("admin:deployments_apitoken_changelist") in page(
        admin_client.get(reverse("admin:index"))
    )


# Deployments stay read-only


def test_deployment_pages_render_read_only_for_an_admin(admin_client, make_deployment):
    deployment = make_deployment()
    changelist = reverse("admin:deployments_deployment_changelist")
    change = reverse("admin:deployments_deployment_change", args=[deployment.pk])

    listed = page(admin_client.get(changelist))
    shown = page(admin_client.get(change))

    assert deployment.application_key in listed
    assert reverse("admin:deployments_deployment_add") not in listed
    assert "delete_selected" not in listed
    assert deployment.application_key in shown
    assert 'name="_save"' not in shown and 'name="_continue"' not in shown
    assert reverse("admin:deployments_deployment_delete", args=[deployment.pk]) not in shown


def test_deployments_cannot_be_added_changed_or_deleted_in_the_admin(admin_client, make_deployment):
    deployment = make_deployment(archived=False)
    change = reverse("admin:deployments_deployment_change", args=[deployment.pk])
    delete = reverse("admin:deployments_deployment_delete", args=[deployment.pk])

    assert admin_client.get(reverse("admin:deployments_deployment_add")).status_code == 403
    assert admin_client.post(change, {"archived": "on"}).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    deployment.refresh_from_db()
    assert deployment.archived is False


def test_an_admin_finds_the_owner_by_typing_part_of_the_username(admin_client):
    make_user("alice.smith")

    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "deployments", "model_name": "apitoken", "field_name": "user", "term": "smi"},
    )

    assert response.status_code == 200
    assert [result["text"] for result in response.json()["results"]] == ["alice.smith"]
