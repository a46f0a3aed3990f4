"""Browsing deployments in Chromium: the issue's flow from sign-in to a shared URL, htmx
filtering that keeps the URL, and the same list without JavaScript.

Expected rows come from the ORM, so the tests hold whatever the demo data holds.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db.models import Count, F, Q
from playwright.sync_api import Page, expect

from deployments.models import Deployment, FlagReference, PullRequest

pytestmark = pytest.mark.django_db(transaction=True)

PAGE_SIZE = 25  # the list's default
ROW_LINKS = "table.deployments tbody tr td:first-child a"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def shown_ids(page: Page) -> list[str]:
    """The deployments the table shows, in order, by the ids in their links."""
    return [
        UUID.search(href).group()
        for href in page.locator(ROW_LINKS).evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
    ]


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def wait_for_query(page: Page, **expected: str) -> None:
    """Waits until the address bar's query string holds each name=value."""

    def holds(url: str) -> bool:
        values = parse_qs(urlsplit(url).query)
        return all(value in values.get(name, []) for name, value in expected.items())

    page.wait_for_url(holds)


def busiest_application() -> str:
    return (
        Deployment.objects.filter(status="finished", archived=False)
        .values("application_key")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()["application_key"]
    )


def test_the_whole_browsing_flow(page: Page, seeded):
    application = busiest_application()
    matching = Deployment.objects.filter(
        application_key=application, status="finished", archived=False
    )
    assert matching.count() > PAGE_SIZE, "the demo data should fill more than one page"

    # Sign in, and reach the list from the navigation.
    page.goto("/")
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill("viewer-demo")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Deployments", exact=True
    ).click()
    expect(page).to_have_title(re.compile(r"^Deployments"))

    # Filter: all time, one application, finished.
    page.get_by_label("Started", exact=True).select_option("all")
    wait_for_query(page, period="all")
    page.get_by_label("Applications").select_option(application)
    wait_for_query(page, application=application)
    page.get_by_role("checkbox", name="finished").check()
    wait_for_query(page, period="all", application=application, status="finished")
    expect(page.locator(ROW_LINKS)).to_have_count(PAGE_SIZE)
    for cell in page.locator("table.deployments tbody tr td:first-child").all():
        expect(cell).to_have_text(application)
    expect(page.get_by_role("status")).to_contain_text(f"{matching.count():,} deployments")

    # Search a pull request's title: exactly the deployments that shipped it.
    title = (
        PullRequest.objects.filter(deployments__in=matching).order_by("-create_time").first().title
    )
    searched = matching.filter(
        Q(pull_request_links__pull_request__title__icontains=title)
        | Q(pull_request_links__pull_request__author__icontains=title)
        | Q(flag_references__flag_key__icontains=title)
    ).distinct()
    page.get_by_label("Search").fill(title)
    page.get_by_label("Search").press("Enter")
    wait_for_query(page, q=title)
    expect(page.locator(ROW_LINKS)).to_have_count(min(searched.count(), PAGE_SIZE))
    assert set(shown_ids(page)) <= {str(pk) for pk in searched.values_list("id", flat=True)}

    # Take the search away again, then sort by duration, longest first.
    page.get_by_role("link", name=re.compile("matching")).click()
    page.wait_for_url(lambda url: "q=" not in url)
    page.get_by_role("columnheader", name="Duration").get_by_role("link").click()
    wait_for_query(page, sort="-duration")
    expect(page.get_by_role("columnheader", name="Duration")).to_have_attribute(
        "aria-sort", "descending"
    )
    by_duration = [
        str(pk)
        for pk in matching.order_by(F("duration_ms").desc(nulls_last=True), "-id").values_list(
            "id", flat=True
        )
    ]
    expect(page.locator(ROW_LINKS).first).to_have_attribute("href", re.compile(by_duration[0]))
    assert shown_ids(page) == by_duration[:PAGE_SIZE]

    # Page forward and back.
    page.get_by_role("link", name=re.compile("Next")).click()
    page.wait_for_url(re.compile("cursor="))
    expect(page.locator(ROW_LINKS).first).to_have_attribute(
        "href", re.compile(by_duration[PAGE_SIZE])
    )
    assert shown_ids(page) == by_duration[PAGE_SIZE : 2 * PAGE_SIZE]
    page.get_by_role("link", name=re.compile("Previous")).click()
    expect(page.locator(ROW_LINKS).first).to_have_attribute("href", re.compile(by_duration[0]))
    assert shown_ids(page) == by_duration[:PAGE_SIZE]
    list_url, list_ids = page.url, shown_ids(page)

    # Open a deployment that has pull requests, flag references and lead-time stages.
    with_everything = {
        str(pk)
        for pk in Deployment.objects.filter(
            id__in=list_ids, number_of_pull_requests__gt=0, coding_duration_ms__isnull=False
        )
        .filter(id__in=FlagReference.objects.values("deployment_id"))
        .values_list("id", flat=True)
    }
    chosen = next(pk for pk in list_ids if pk in with_everything)
    deployment = Deployment.objects.get(id=chosen)
    page.locator(f'{ROW_LINKS}[href*="{chosen}"]').click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(application)
    expect(page.get_by_role("heading", level=1)).to_contain_text(deployment.application_version)
    pull_requests = page.locator("section", has=page.get_by_role("heading", name="Pull requests"))
    expect(pull_requests.locator("tbody tr")).to_have_count(deployment.pull_request_links.count())
    first_title = deployment.pull_request_links.first().pull_request.title
    expect(pull_requests).to_contain_text(first_title)
    flags = page.locator("section", has=page.get_by_role("heading", name="Flag references"))
    expect(flags.locator("tbody tr")).to_have_count(deployment.flag_references.count())
    for flag_key in deployment.flag_references.values_list("flag_key", flat=True):
        expect(flags).to_contain_text(flag_key)
    stage_bar = page.get_by_role("img", name=re.compile("Lead-time stages"))
    expect(stage_bar).to_be_visible()
    expect(stage_bar).to_contain_text("Coding")

    # The browser's back button lands on the same filtered, sorted page.
    page.go_back()
    expect(page).to_have_url(list_url)
    expect(page.locator(ROW_LINKS).first).to_have_attribute("href", re.compile(list_ids[0]))
    assert shown_ids(page) == list_ids
    expect(page.get_by_role("checkbox", name="finished")).to_be_checked()

    # The URL, pasted into a new tab, shows the same view.
    other = page.context.new_page()
    other.goto(list_url)
    assert shown_ids(other) == list_ids
    expect(other.get_by_role("checkbox", name="finished")).to_be_checked()
    expect(other.get_by_label("Applications")).to_have_values([application])
    expect(other.get_by_label("Sort")).to_have_value("-duration")


def test_htmx_filtering_swaps_the_results_and_pushes_the_url(page: Page, seeded, sign_in):
    sign_in(page.context)
    page.goto("/deployments/?period=all")
    page.evaluate("window.notReloaded = true")

    with page.expect_request(lambda r: r.headers.get("hx-request") == "true") as htmx_request:
        page.get_by_role("checkbox", name="failed").check()
    assert "status=failed" in htmx_request.value.url

    wait_for_query(page, status="failed")
    expect(page.locator("table.deployments tbody tr").first).to_contain_text("failed")
    assert page.evaluate("window.notReloaded") is True  # no full page load
    expected = Deployment.objects.filter(status="failed", archived=False).count()
    expect(page.get_by_role("status")).to_contain_text(f"{expected:,} deployment")
    for badge in page.locator("table.deployments tbody tr td:nth-child(4)").all():
        expect(badge).to_have_text("failed")

    # The pushed URL is a real one: reloading it gives the same filtered page.
    ids = shown_ids(page)
    page.reload()
    assert shown_ids(page) == ids
    expect(page.get_by_role("checkbox", name="failed")).to_be_checked()


def test_the_list_works_without_javascript(browser, live_server, seeded, sign_in):
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    sign_in(context)
    page = context.new_page()
    page.goto("/deployments/?period=all")

    page.get_by_role("checkbox", name="failed").check()
    page.get_by_role("button", name="Apply filters").click()

    wait_for_query(page, status="failed")
    expected = Deployment.objects.filter(status="failed", archived=False).count()
    expect(page.get_by_role("status")).to_contain_text(f"{expected:,} deployment")
    for badge in page.locator("table.deployments tbody tr td:nth-child(4)").all():
        expect(badge).to_have_text("failed")

    # Sorting and paging are plain links.
    page.get_by_role("checkbox", name="failed").uncheck()
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(lambda url: "status=" not in url)
    first_page = shown_ids(page)
    page.get_by_role("link", name=re.compile("Next")).click()
    page.wait_for_url(re.compile("cursor="))
    assert shown_ids(page) and set(shown_ids(page)).isdisjoint(first_page)
    context.close()
