"""The main pages are well-formed, accessible HTML, checked by tests/htmlcheck.py.

The checker is tested first on snippets with one mistake each, so that a page passing
it means something.
"""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from deployments import roles
from deployments.models import Deployment, FlagReference
from tests.htmlcheck import check_html


def document(body: str, *, head: str = "<title>A page</title>") -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{head}</head>'
        f"<body><main><h1>Title</h1>{body}</main></body></html>"
    )


GOOD = document(
    """
    <a class="skip" href="#results">Skip</a>
    <form method="get" aria-label="Filters">
      <label for="q">Search</label><input type="search" id="q" name="q">
      <label>Archived <input type="checkbox" name="archived"></label>
      <select name="status" aria-label="Status"><option value="">Any</option></select>
      <input type="hidden" name="sort" value="-started">
      <button type="submit">Filter</button>
    </form>
    <div class="table-wrap" id="results" role="region" aria-labelledby="cap" tabindex="0">
      <table class="data"><caption id="cap">Deployments</caption>
        <thead><tr><th scope="col">App</th></tr></thead>
        <tbody><tr><td><a href="/d/1/">billing</a></td></tr></tbody>
      </table>
    </div>
    <svg viewBox="0 0 10 10" role="img"><title>Stages</title><rect width="5" height="5"/></svg>
    <svg aria-hidden="true"><path d="M0 0"/></svg>
    <p>Text <br> more <img src="/x.png" alt=""></p>
    <ul><li><a href="/"><svg aria-label="Home"></svg></a></li></ul>
    """
)

BAD = [
    ("unclosed", document("<div><span>x</div>"), "<span> from line 1 not closed before </div>"),
    ("misnested", document("<p><b><i>x</b></i></p>"), "not closed before </b>"),
    ("stray end tag", document("<p>x</p></div>"), "stray end tag </div>"),
    ("never closed", document("x").removesuffix("</main></body></html>"), "<main> never closed"),
    ("void end tag", document("<p>a<br></br></p>"), "end tag </br> for a void element"),
    ("html self-closing", document("<div/>"), "<div/> is not self-closing"),
    ("duplicate id", document('<p id="a">x</p><p id="a">y</p>'), "duplicate id 'a'"),
    ("duplicate attribute", document('<p class="a" class="b">x</p>'), "repeats attribute class"),
    (
        "unlabelled input",
        document('<form><input name="q"></form>'),
        "<input name='q'> has no label",
    ),
    (
        "unlabelled select",
        document('<select name="s"><option>a</option></select>'),
        "<select name='s'> has no label",
    ),
    (
        "label for a missing id",
        document('<label for="x">Q</label><input id="y" name="q">'),
        "label for names id 'x'",
    ),
    ("aria-labelledby nowhere", document('<nav aria-labelledby="n">x</nav>'), "names id 'n'"),
    ("link to a missing anchor", document('<a href="#gone">x</a>'), "href names id 'gone'"),
    ("svg without a title", document('<svg viewBox="0 0 1 1"><rect/></svg>'), "<svg> without"),
    ("img without alt", document('<img src="/x.png">'), "<img> without alt"),
    ("empty button", document("<button></button>"), "<button> without text"),
    ("empty link", document('<a href="/"> </a>'), "<a> without text"),
    ("two h1", document("<h1>Again</h1>"), "2 <h1> elements"),
    ("block in p", document("<p><div>x</div></p>"), "<div> inside <p>"),
    ("li outside a list", document("<div><li>x</li></div>"), "<li> inside <div>"),
    ("div in a list", document("<ul><div>x</div></ul>"), "<div> directly inside <ul>"),
    ("td outside a row", document("<table><td>x</td></table>"), "<td> inside <table>"),
    ("div in a row", document("<table><tr><div>x</div></tr></table>"), "directly inside <tr>"),
    ("button in a link", document('<a href="/"><button>x</button></a>'), "inside <a>"),
    ("nested forms", document("<form><form></form></form>"), "<form> inside <form>"),
    ("no title", document("x", head=""), "no <title> text"),
    ("no lang", document("x").replace(' lang="en"', ""), "<html> without lang"),
    ("no doctype", document("x").replace("<!DOCTYPE html>", ""), "no <!DOCTYPE html>"),
]


def test_the_checker_passes_good_markup():
    assert check_html(GOOD) == []


@pytest.mark.parametrize("html, expected", [case[1:] for case in BAD], ids=[c[0] for c in BAD])
def test_the_checker_finds_each_mistake(html, expected):
    errors = check_html(html)

    assert any(expected in error for error in errors), errors


def test_the_checker_holds_fragments_to_fragment_rules():
    good = '<div id="rows"><table><tbody><tr><td>x</td></tr></tbody></table></div>'
    assert check_html(good, fragment=True) == []
    assert "<body> in a fragment" in " ".join(check_html("<body>x</body>", fragment=True))
    # The fragment's label may live in the page around it, when the control has an id.
    assert check_html('<input id="q" name="q">', fragment=True) == []
    assert check_html('<input name="q">', fragment=True) != []


# ---------------------------------------------------------------------------
# The pages


def assert_valid(response, *, fragment: bool = False) -> str:
    assert response.status_code in (200, 404), response.status_code
    html = response.content.decode()
    errors = check_html(html, fragment=fragment)
    assert errors == [], "\n".join(errors)
    return html


@pytest.fixture
def viewer(client, db):
    user = get_user_model().objects.create_user("vera", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.ADMIN))
    client.force_login(user)
    return user


@pytest.fixture
def seeded(db):
    # Ending now, so that the list's default period shows rows.
    call_command("seed_demo", deployments=120, now=timezone.now().isoformat(), verbosity=0)


def test_the_login_page_is_valid(client, db):
    assert_valid(client.get(reverse("login")))


def test_the_login_page_with_an_error_is_valid(client, db):
    html = assert_valid(client.post(reverse("login"), {"username": "x", "password": "y"}))
    assert 'role="alert"' in html


def test_the_overview_is_valid(client, viewer, seeded):
    assert_valid(client.get(reverse("deployments:home")))


def test_the_empty_overview_is_valid(client, viewer):
    assert_valid(client.get(reverse("deployments:home")))


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"status": "failed", "kind": "rollback", "archived": "show", "period": "all"},
        {"q": "retry", "sort": "-duration"},
        {"q": "no pull request is called this"},
        {"period": "custom", "from": "not a date", "size": "37", "cursor": "garbled"},
    ],
    ids=["plain", "filtered", "search", "no-results", "bad-input"],
)
def test_the_list_is_valid(client, viewer, seeded, query):
    assert_valid(client.get(reverse("deployments:list"), query))


def test_the_list_fragment_is_valid(client, viewer, seeded):
    response = client.get(
        reverse("deployments:list"), {"status": "finished"}, HTTP_HX_REQUEST="true"
    )

    html = assert_valid(response, fragment=True)
    assert "<html" not in html and "<table" in html


def test_the_deferred_search_count_is_valid(client, viewer, seeded):
    headers = {"HX-Request": "true", "HX-Target": "result-count"}
    response = client.get(reverse("deployments:list"), {"q": "retry"}, headers=headers)

    html = assert_valid(response, fragment=True)
    assert 'id="result-count"' in html and "<table" not in html


def test_the_empty_list_is_valid(client, viewer):
    assert_valid(client.get(reverse("deployments:list")))


def test_the_detail_page_is_valid(client, viewer, seeded):
    # The one with the most pull requests and flag references has every section filled.
    deployment = (
        Deployment.objects.filter(
            id__in=FlagReference.objects.values("deployment_id"), coding_duration_ms__isnull=False
        )
        .order_by("-number_of_pull_requests")
        .first()
    )
    assert deployment is not None

    html = assert_valid(client.get(reverse("deployments:detail", args=[deployment.id])))
    assert "<svg" in html


def test_the_detail_page_of_a_bare_deployment_is_valid(client, viewer, seeded):
    deployment = Deployment.objects.filter(number_of_pull_requests=0).first()

    assert_valid(client.get(reverse("deployments:detail", args=[deployment.id])))


@pytest.mark.parametrize("path", ["/no-such-page/", f"/deployments/{uuid.uuid4()}/"])
def test_the_not_found_page_is_valid(client, viewer, path):
    response = client.get(path)

    assert response.status_code == 404
    assert "not found" in assert_valid(response)


def test_the_not_found_page_is_valid_signed_out(client, db):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert_valid(response)
