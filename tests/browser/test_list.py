"""The deployments list in Chromium: the search box's requests, the filter panel on a
phone and on a desktop, and a text search's count without JavaScript."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from deployments.models import PullRequest

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


def results_requests(page: Page) -> list[str]:
    """The URLs of the htmx requests for the results the page sends from now on, in
    order (a text search's count, a request of its own, left out)."""
    sent: list[str] = []

    def record(request) -> None:
        headers = request.headers
        if headers.get("hx-request") == "true" and headers.get("hx-target") == "results":
            sent.append(request.url)

    page.on("request", record)
    return sent


def a_searchable_word() -> str:
    title = PullRequest.objects.order_by("create_time").values_list("title", flat=True).first()
    return max(re.findall(r"[A-Za-z]{4,}", title), key=len).lower()


def test_typing_then_clicking_a_filter_sends_one_request_each(page: Page, seeded, sign_in):
    sign_in(page.context)
    page.set_viewport_size(DESKTOP)
    page.goto("/deployments/?period=all")
    sent = results_requests(page)
    word = a_searchable_word()

    # Typed a key at a time, faster than the debounce: one request, for the whole word.
    page.get_by_label("Search").press_sequentially(word, delay=30)
    expect(page.get_by_role("status")).to_contain_text("deployment")
    page.wait_for_url(re.compile(f"q={word}"))
    page.wait_for_load_state("networkidle")
    assert len(sent) == 1 and f"q={word}" in sent[0]

    # Clicking a checkbox blurs the search box (whose change event then fires): still one
    # request, for the checkbox, with the search in it.
    page.get_by_role("checkbox", name="finished").check()
    page.wait_for_url(re.compile("status=finished"))
    page.wait_for_load_state("networkidle")
    assert len(sent) == 2, sent
    assert "status=finished" in sent[1] and f"q={word}" in sent[1]


def test_enter_in_the_search_box_sends_one_request(page: Page, seeded, sign_in):
    sign_in(page.context)
    page.goto("/deployments/?period=all")
    sent = results_requests(page)

    page.get_by_label("Search").fill("checkout")
    page.get_by_label("Search").press("Enter")
    page.wait_for_url(re.compile("q=checkout"))
    page.wait_for_timeout(600)  # past the debounce, which Enter cancels
    page.wait_for_load_state("networkidle")
    assert len(sent) == 1 and "q=checkout" in sent[0], sent


def test_on_a_phone_the_filters_fold_away_and_the_results_come_first(page: Page, seeded, sign_in):
    sign_in(page.context)
    page.set_viewport_size(PHONE)
    page.goto("/deployments/?status=finished")

    panel = page.locator("details#filter-panel")
    expect(panel).not_to_have_attribute("open", "")
    expect(page.get_by_role("checkbox", name="failed")).to_be_hidden()
    expect(panel.locator("summary")).to_contain_text("1 in use")
    first_row = page.locator("table.deployments tbody tr").first
    assert first_row.bounding_box()["y"] < PHONE["height"]

    # Opened, the filters work as on a desktop.
    panel.locator("summary").click()
    page.get_by_role("checkbox", name="failed").check()
    page.wait_for_url(re.compile("status=failed"))
    expect(panel).to_have_attribute("open", "")


def test_on_a_desktop_the_filters_are_open(page: Page, seeded, sign_in):
    sign_in(page.context)
    page.set_viewport_size(DESKTOP)
    page.goto("/deployments/")

    expect(page.locator("details#filter-panel")).to_have_attribute("open", "")
    expect(page.get_by_role("checkbox", name="failed")).to_be_visible()


def test_without_javascript_a_search_can_be_counted_and_filtered(
    browser, live_server, seeded, sign_in
):
    context = browser.new_context(
        java_script_enabled=False, base_url=live_server.url, viewport=PHONE
    )
    sign_in(context)
    page = context.new_page()
    page.goto("/deployments/?period=all&q=e")

    status = page.get_by_role("status")
    expect(status).to_contain_text("More than 25")
    expect(status.get_by_text("counting…")).to_be_hidden()
    status.get_by_role("link", name="count them").click()
    page.wait_for_url(re.compile("count=1"))
    expect(status).to_contain_text(re.compile(r"[\d,]+\+? deployments"))
    expect(status).not_to_contain_text("More than")

    # The panel is open for what is in use (the period), and its fields submit.
    page.get_by_role("checkbox", name="failed").check()
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile("status=failed"))
    for badge in page.locator("table.deployments tbody tr td:nth-child(4)").all():
        expect(badge).to_have_text("failed")
    context.close()
