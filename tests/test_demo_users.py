import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from deployments import roles

pytestmark = pytest.mark.django_db

LOGINS = {
    "viewer": ("viewer-demo", roles.VIEWER, False),
    "captain": ("captain-demo", roles.RELEASE_CAPTAIN, False),
    "admin": ("admin-demo", roles.ADMIN, True),
}


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    # The default hasher takes about a quarter of a second per password on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


def create_demo_users(**options):
    out = io.StringIO()
    call_command("create_demo_users", stdout=out, **options)
    return out.getvalue()


def test_one_user_per_role_with_the_right_group_and_staff_flag(debug):
    create_demo_users()

    users = get_user_model().objects.order_by("username")
    assert {
        user.username: ([g.name for g in user.groups.all()], user.is_staff, user.is_superuser)
        for user in users
    } == {name: ([role], staff, False) for name, (_, role, staff) in LOGINS.items()}
    assert roles.role_of(users.get(username="captain")) == roles.RELEASE_CAPTAIN


@pytest.mark.parametrize("username", LOGINS)
def test_each_demo_user_can_sign_in(debug, client, username):
    create_demo_users()

    assert client.login(username=username, password=LOGINS[username][0])
    assert not client.login(username=username, password="wrong")


def test_only_the_admin_enters_the_admin_portal(debug, client):
    create_demo_users()

    client.login(username="admin", password="admin-demo")
    assert client.get("/admin/").status_code == 200
    client.login(username="captain", password="captain-demo")
    assert client.get("/admin/").status_code == 302


def test_the_table_shows_where_and_how_to_sign_in(debug):
    output = create_demo_users()

    assert "Sign in at /login/" in output
    lines = output.splitlines()
    for username, (password, role, _) in LOGINS.items():
        assert any(line.split() == [username, password, role] for line in lines)


def test_rerun_resets_the_users_instead_of_adding_more(debug, client):
    create_demo_users()
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("changed")
    admin.is_superuser = True
    admin.is_active = False
    admin.save()
    admin.groups.add(Group.objects.get(name=roles.VIEWER))

    output = create_demo_users()

    assert "0 created, 3 reset" in output
    assert get_user_model().objects.count() == 3
    admin.refresh_from_db()
    assert (admin.is_superuser, admin.is_active, admin.is_staff) == (False, True, True)
    assert [group.name for group in admin.groups.all()] == [roles.ADMIN]
    assert client.login(username="admin", password="admin-demo")


def test_refused_when_debug_is_off(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG is off"):
        create_demo_users()

    assert not get_user_model().objects.exists()


def test_force_creates_them_even_when_debug_is_off(settings, client):
    settings.DEBUG = False

    create_demo_users(force=True)

    assert client.login(username="viewer", password="viewer-demo")


def test_missing_role_groups_say_to_migrate(debug):
    Group.objects.filter(name=roles.ADMIN).delete()

    with pytest.raises(CommandError, match=r"role groups missing \(admin\): run migrate"):
        create_demo_users()

    assert not get_user_model().objects.exists()
