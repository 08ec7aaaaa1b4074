"""report.html in headless Chromium: it loads, a filter changes the visible rows, a screenshot is taken."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.report import write_reports
from tests.report_fixtures import FAILED_ID, sample_report

pytestmark = pytest.mark.chromium

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("headless Chromium test needs chromium and chromedriver (scripts/install-system-deps.sh)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (test extras)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


_VISIBLE_ROWS_JS = (
    "return [...document.querySelectorAll('#matrix tbody tr')].filter(r => r.style.display !== 'none').length"
)


def _visible_rows(driver: Any) -> int:
    return int(driver.execute_script(_VISIBLE_ROWS_JS))


def test_filters_change_the_visible_rows_and_a_screenshot_is_taken(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    report = sample_report()
    write_reports(report, tmp_path / "report")
    browser.get((tmp_path / "report" / "report.html").as_uri())

    total = _visible_rows(browser)
    assert total == len(report.rows)
    assert browser.find_element(By.ID, "visible-count").text == str(total)

    Select(browser.find_element(By.ID, "f-status")).select_by_value("fail")
    assert _visible_rows(browser) == 1
    Select(browser.find_element(By.ID, "f-status")).select_by_value("")

    Select(browser.find_element(By.ID, "f-bolt")).select_by_value("1")
    bolt1 = _visible_rows(browser)
    assert 0 < bolt1 < total
    assert bolt1 == sum(1 for r in report.rows if r.requirement.bolt == 1)

    browser.find_element(By.ID, "f-text").send_keys(FAILED_ID)
    assert _visible_rows(browser) == 1
    assert browser.find_element(By.ID, "visible-count").text == "1"

    screenshot = tmp_path / "report.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
