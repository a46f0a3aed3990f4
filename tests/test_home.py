import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from deployments import roles

pytestmark = pytest.mark.django_db


def sign_in(client, role):
    user = get_user_model().objects.create_user(role, is_staff=role == roles.ADMIN)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return user


def test_the_overview_needs_a_sign_in(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_overview_counts_deployments_per_scope(client, make_deployment):
    make_deployment(project_key="payments")
    make_deployment(project_key="payments")
    make_deployment(project_key="mobile", environmentKey="staging")
    sign_in(client, roles.VIEWER)

    response = client.get("/")

    body = response.content.decode()
    assert "<strong>3</strong> deployments" in body
    assert response.context["summary"]["scopes"][1]["project_key"] == "payments"
    assert response.context["summary"]["scopes"][1]["count"] == 2
    assert "viewer · viewer" in body and "local mode" in body
    assert "admin portal" not in body


def test_admins_are_offered_the_admin_portal(client):
    sign_in(client, roles.ADMIN)

    body = client.get("/").content.decode()

    assert 'href="/admin/"' in body and "No deployments yet" in body


def test_the_login_page_keeps_the_username_after_a_failed_attempt(client):
    get_user_model().objects.create_user("jane", password="right-password")

    response = client.post("/login/", {"username": "jane", "password": "wrong"})

    assert response.status_code == 200
    assert 'value="jane"' in response.content.decode()
    assert 'role="alert"' in response.content.decode()
