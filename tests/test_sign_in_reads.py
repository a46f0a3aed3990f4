"""What every signed-in request reads first, as fixed SQL: the session
(deployments/sessions.py) and the user with their groups (deployments/auth_backend.py).
Each must give exactly what Django's own session store and model backend give."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from deployments import roles
from deployments.auth_backend import UserWithGroupsBackend
from deployments.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_the_settings_use_both():
    from django.conf import settings

    assert settings.SESSION_ENGINE == "deployments.sessions"
    assert settings.AUTHENTICATION_BACKENDS == ["deployments.auth_backend.UserWithGroupsBackend"]


# ---------------------------------------------------------------------------
# Sessions


def saved_session(data: dict) -> str:
    store = SessionStore()
    store.update(data)
    store.create()
    return store.session_key


def test_a_session_loads_what_djangos_store_loads(django_assert_num_queries):
    key = saved_session({"_auth_user_id": "7", "tags": ["a", "ü"], "n": 3})

    with django_assert_num_queries(1):
        loaded = SessionStore(key).load()

    assert (
        loaded
        == DjangoSessionStore(key).load()
        == {"_auth_user_id": "7", "tags": ["a", "ü"], "n": 3}
    )


def test_an_expired_session_loads_empty_and_forgets_its_key():
    key = saved_session({"n": 1})
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )

    store = SessionStore(key)

    assert store.load() == {}
    assert store.session_key is None
    assert DjangoSessionStore(key).load() == {}


def test_an_unknown_key_loads_empty():
    store = SessionStore("x" * 32)

    assert store.load() == {}
    assert store.session_key is None


def test_signing_out_ends_the_session(client):
    user = get_user_model().objects.create_user("sol")
    client.force_login(user)
    assert client.get("/deployments/").status_code == 200

    client.post("/logout/")

    assert client.get("/deployments/").status_code == 302
    assert not Session.objects.exists()


# ---------------------------------------------------------------------------
# The user and their groups


@pytest.fixture
def member():
    user = get_user_model().objects.create_user(
        "mae", email="mae@example.com", first_name="Mae", is_staff=True
    )
    user.last_login = timezone.now()
    user.save()
    for name in (roles.VIEWER, roles.RELEASE_CAPTAIN, "other"):
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user


def fields(user) -> dict:
    return {field.attname: getattr(user, field.attname) for field in user._meta.concrete_fields}


def test_the_user_is_read_as_the_model_backend_reads_it(member, django_assert_num_queries):
    with django_assert_num_queries(1):
        user = UserWithGroupsBackend().get_user(member.pk)

    expected = ModelBackend().get_user(member.pk)
    assert fields(user) == fields(expected)
    assert user._state.adding is False and user._state.db == expected._state.db
    assert user.check_password("wrong") is False  # the password hash came along


def test_the_role_comes_with_the_user(member, django_assert_num_queries):
    user = UserWithGroupsBackend().get_user(member.pk)

    with django_assert_num_queries(0):
        assert roles.role_of(user) == roles.RELEASE_CAPTAIN


def test_a_user_in_no_group_has_no_role_and_one_row(django_assert_num_queries):
    loner = get_user_model().objects.create_user("lou")

    user = UserWithGroupsBackend().get_user(loner.pk)

    assert user.pk == loner.pk
    with django_assert_num_queries(0):
        assert roles.role_of(user) is None


def test_a_user_read_elsewhere_still_gets_its_role_from_the_database(member):
    assert roles.role_of(get_user_model().objects.get(pk=member.pk)) == roles.RELEASE_CAPTAIN


@pytest.mark.parametrize("user_id", [10**9, str(10**9 + 1)])
def test_unknown_and_inactive_users_are_none(member, user_id):
    get_user_model().objects.filter(pk=member.pk).update(is_active=False)

    assert UserWithGroupsBackend().get_user(member.pk) is None
    assert UserWithGroupsBackend().get_user(user_id) is None


def test_a_new_role_shows_on_the_next_page(client, member):
    client.force_login(member)
    assert "mae · release-captain" in client.get("/").content.decode()

    member.groups.add(Group.objects.get(name=roles.ADMIN))

    assert "mae · admin" in client.get("/").content.decode()


def test_signing_in_with_a_password_still_works(client, member):
    member.set_password("a long passphrase")
    member.save()

    response = client.post("/login/", {"username": "mae", "password": "a long passphrase"})

    assert response.status_code == 302
    assert "mae · release-captain" in client.get("/").content.decode()
