"""`create_api_token` and `revoke_api_token`: thin commands over deployments.tokens."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from deployments.models import ApiToken
from deployments.tokens import api_token_check, api_token_create, token_digest

pytestmark = pytest.mark.django_db


def run(command, *args, **options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def create(*args) -> tuple[str, str]:
    return run("create_api_token", *args)


def test_create_prints_the_token_alone_on_stdout_and_a_note_on_stderr():
    out, err = create("--name", "ci", "--service", "ci-pipeline")

    raw = out.strip()
    assert out == raw + "\n"
    token = ApiToken.objects.get()
    assert token.digest == token_digest(raw)
    assert (token.name, token.service_name, token.role) == ("ci", "ci-pipeline", "reader")
    assert token.expires_at is None
    assert raw not in err
    assert token.prefix in err and "only time" in err and "service:ci-pipeline" in err
    assert api_token_check(raw) == token


def test_create_for_a_user_as_a_writer_with_an_expiry():
    alice = get_user_model().objects.create_user("alice")

    out, err = create(
        "--name", "laptop", "--user", "alice", "--role", "writer", "--expires-in-days", "30"
    )

    token = ApiToken.objects.get()
    assert (token.user, token.role, token.service_name) == (alice, "writer", "")
    expected = timezone.now() + timedelta(days=30)
    assert abs(token.expires_at - expected) < timedelta(minutes=1)
    assert "expires" in err
    assert api_token_check(out.strip()) == token


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "x"], "every token has an owner"),
        (["--name", "x", "--service", "  "], "every token has an owner"),
        (["--name", "x", "--user", "alice", "--service", "ci"], "not both"),
        (["--name", "x", "--user", "nobody"], "no user named 'nobody'"),
        (["--name", "x", "--user", "retired"], "deactivated"),
        (["--name", "x", "--service", "ci", "--role", "admin"], "invalid choice: 'admin'"),
        (["--name", "x", "--service", "ci", "--expires-in-days", "0"], "positive number of days"),
        (["--name", "x", "--service", "ci", "--expires-in-days", "-3"], "positive number of days"),
        (["--name", "x", "--service", "ci", "--expires-in-days", "soon"], "invalid int value"),
        (["--name", "x", "--service", "ci", "--expires-in-days", "999999999"], "too far"),
        (["--name", "  ", "--service", "ci"], "name: must not be blank"),
        (["--service", "ci"], "--name"),
    ],
)
def test_create_refuses_with_a_clear_message(args, message):
    get_user_model().objects.create_user("alice")
    get_user_model().objects.create_user("retired", is_active=False)

    with pytest.raises(CommandError, match=message):
        create(*args)

    assert not ApiToken.objects.exists()


def test_create_checks_the_role_when_called_with_keyword_arguments():
    # call_command skips argparse's `choices` for keyword options; the service checks.
    with pytest.raises(CommandError, match="role: must be one of"):
        run("create_api_token", name="x", service="ci", role="admin")


def test_revoke_by_prefix_name_or_whole_token():
    by_prefix = api_token_create(name="one", role="reader", service_name="ci")
    by_name = api_token_create(name="two", role="reader", service_name="ci")
    whole = api_token_create(name="three", role="reader", service_name="ci")

    for text in (f"{by_prefix.token.prefix}…", "two", whole.raw):
        out, _ = run("revoke_api_token", text)
        assert out.startswith("Revoked token")

    assert not ApiToken.objects.filter(revoked_at__isnull=True).exists()
    assert by_name.raw not in out and whole.raw not in out


def test_revoke_twice_says_so_and_keeps_the_first_time():
    issued = api_token_create(name="ci", role="reader", service_name="ci")
    run("revoke_api_token", "ci")
    first = ApiToken.objects.get().revoked_at

    out, _ = run("revoke_api_token", "ci")

    assert "already revoked" in out
    assert ApiToken.objects.get().revoked_at == first
    assert issued.token.prefix in out


def test_revoke_refuses_an_unknown_or_ambiguous_token():
    api_token_create(name="ci", role="reader", service_name="a")
    api_token_create(name="ci", role="reader", service_name="b")

    with pytest.raises(CommandError, match="no token has the prefix or name 'nope'"):
        run("revoke_api_token", "nope")
    with pytest.raises(CommandError, match="2 tokens match 'ci'.*give a prefix"):
        run("revoke_api_token", "ci")
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()
