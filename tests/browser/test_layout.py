"""The base layout in Chromium: sign in and out, navigation, keyboard, phone width, dark."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from deployments import roles
from deployments.models import Deployment

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 375, "height": 740}


def horizontal_overflow(page: Page) -> int:
    """How many pixels the page scrolls sideways (0 when it fits its viewport)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_sign_in_shows_who_and_where_then_sign_out(page: Page, seeded):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    expect(page).to_have_title("Sign in · Deployments dashboard")

    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("Password").fill("viewer-demo")
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_title("Overview · Deployments dashboard")
    header = page.get_by_role("banner")
    expect(header).to_contain_text("viewer · viewer")
    expect(header).to_contain_text("local mode")
    expect(header).to_contain_text("UTC")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Deployments", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Admin")).to_have_count(0)
    expect(nav.get_by_role("link", name="Insights")).to_have_count(0)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.goto("/deployments/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/deployments/$"))


def test_staff_see_the_admin_link(page: Page, seeded, sign_in):
    sign_in(page.context, roles.ADMIN, is_staff=True)
    page.goto("/")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()

    expect(page).to_have_url(re.compile(r"/admin/$"))


def test_the_current_section_is_marked_in_the_navigation(page: Page, seeded, sign_in):
    sign_in(page.context)
    nav = page.get_by_role("navigation", name="Main")
    deployments = nav.get_by_role("link", name="Deployments", exact=True)

    page.goto("/")
    expect(nav.get_by_role("link", name="Deployments dashboard")).to_have_attribute(
        "aria-current", "page"
    )
    expect(deployments).not_to_have_attribute("aria-current", re.compile("."))

    deployments.click()
    expect(page).to_have_url(re.compile(r"/deployments/"))
    expect(deployments).to_have_attribute("aria-current", "page")

    page.goto(f"/deployments/{Deployment.objects.first().id}/")
    expect(deployments).to_have_attribute("aria-current", "true")


def test_the_keyboard_reaches_the_skip_link_first_and_sees_focus(page: Page, seeded, sign_in):
    sign_in(page.context)
    page.goto("/")

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0  # on screen once focused
    assert skip.evaluate("e => getComputedStyle(e).outlineStyle") != "none"

    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")  # the first control after the header
    focused = page.evaluate("document.activeElement.closest('main') !== null")
    assert focused


@pytest.mark.parametrize(
    "scheme, background", [("light", "rgb(255, 255, 255)"), ("dark", "rgb(17, 20, 24)")]
)
def test_the_colour_scheme_follows_the_system(page: Page, seeded, sign_in, scheme, background):
    page.emulate_media(color_scheme=scheme)
    sign_in(page.context)
    page.goto("/")

    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == background


@pytest.mark.parametrize("path", ["/", "/deployments/", "detail", "/login/", "/nowhere/"])
def test_pages_fit_a_phone_without_sideways_scrolling(page: Page, seeded, sign_in, path):
    page.set_viewport_size(PHONE)
    sign_in(page.context)
    if path == "detail":
        busiest = Deployment.objects.order_by("-number_of_pull_requests").first()
        path = f"/deployments/{busiest.id}/"

    page.goto(path)

    assert horizontal_overflow(page) <= 0
    # A table wider than the phone scrolls inside its own wrapper.
    unwrapped = page.evaluate(
        """() => [...document.querySelectorAll('table')].filter(table => {
            if (table.scrollWidth <= window.innerWidth) return false;
            for (let e = table.parentElement; e; e = e.parentElement)
                if (['auto', 'scroll'].includes(getComputedStyle(e).overflowX)) return false;
            return true;
        }).length"""
    )
    assert unwrapped == 0
    for link in page.get_by_role("banner").get_by_role("link").all():
        box = link.bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"], link.text_content()


@pytest.mark.parametrize(
    ("viewport", "layout"),
    [(PHONE, "chart-narrow"), ({"width": 700, "height": 740}, "chart-wide"), (None, "chart-wide")],
)
def test_the_stage_chart_is_one_readable_chart_at_any_width(
    page: Page, seeded, sign_in, viewport, layout
):
    if viewport:
        page.set_viewport_size(viewport)
    sign_in(page.context)
    with_stages = Deployment.objects.filter(
        **{f"{stage}_duration_ms__isnull": False for stage in ("coding", "review", "wait")},
        deploy_duration_ms__isnull=False,
    ).first()

    page.goto(f"/deployments/{with_stages.id}/")

    # One chart for screen readers and eyes alike: the page's other drawing is hidden.
    chart = page.get_by_role("img", name=re.compile("Lead-time stages"))
    expect(chart).to_have_count(1)
    expect(chart).to_have_class(layout)
    expect(chart).to_contain_text("This deployment")
    # The chart's 12-unit text, as drawn: 10 px or more (the wide chart squeezed into a
    # phone drew it at about 5 px).
    scale = chart.evaluate("svg => svg.getScreenCTM().a")
    assert 12 * scale >= 10
    assert horizontal_overflow(page) <= 0
