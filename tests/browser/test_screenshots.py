"""The README's screenshots, on demand: `make screenshots` (pytest -m screenshots).

Deselected from ordinary runs (tests/browser/conftest.py), since they rewrite
docs/screenshots/*.png: the list and the detail page, light and dark, on a desktop
and on a 375 px phone; the overview and the sign-in page on a desktop.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from deployments import roles
from deployments.models import Deployment, FlagReference

pytestmark = [pytest.mark.screenshots, pytest.mark.django_db(transaction=True)]

OUT = Path(settings.BASE_DIR) / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 1180}
PHONE = {"width": 375, "height": 812}


def showcase_deployment() -> Deployment:
    """A finished deployment with pull requests, flag references and stages to show."""
    return (
        Deployment.objects.filter(
            status="finished",
            coding_duration_ms__isnull=False,
            deploy_duration_ms__isnull=False,
            id__in=FlagReference.objects.values("deployment_id"),
            number_of_pull_requests__gte=3,
        )
        .order_by("-started_at")
        .first()
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_screenshots_of_the_list_and_detail(page: Page, seeded, sign_in, scheme, screen):
    page.emulate_media(color_scheme=scheme)
    page.set_viewport_size(DESKTOP if screen == "desktop" else PHONE)
    sign_in(page.context, roles.RELEASE_CAPTAIN, username="jane.doe")
    suffix = "" if (scheme, screen) == ("light", "desktop") else f"-{screen}-{scheme}"
    suffix = suffix.replace("-desktop", "")

    page.goto("/deployments/")
    expect(page.locator("table")).to_be_visible()
    page.screenshot(path=OUT / f"list{suffix}.png")

    page.goto(f"/deployments/{showcase_deployment().id}/")
    expect(page.get_by_role("img", name=re.compile("Lead-time stages"))).to_be_visible()
    if screen == "phone":
        # The facts fill a phone's first screen; show the stage chart drawn for phones.
        page.locator("#stages-title").evaluate("e => e.scrollIntoView({block: 'start'})")
    page.screenshot(path=OUT / f"detail{suffix}.png")


def test_screenshots_of_the_overview_and_sign_in(page: Page, seeded, sign_in):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/login/")
    page.screenshot(path=OUT / "login.png")

    sign_in(page.context, roles.ADMIN, username="sam.admin", is_staff=True)
    page.goto("/")
    page.screenshot(path=OUT / "home.png")
