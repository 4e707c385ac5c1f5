"""Pages opened in a real browser (headless Chromium, Debian's package, driven by Selenium through Debian's
chromedriver): the sweep report, a gallery page and the diversity map load without console errors, every
image loads, the verdict and figures are there, and the point under the pointer on the map carries its
instruction. Skipped where Chromium is not installed (`make test` installs it). ~25 s (browser start,
the embedding model for the map).

Screenshots: DIVLAB_SCREENSHOTS=DIR keeps one per page (docs/screenshots/ holds the committed ones)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="Chromium and its driver not installed "
                                 "(apt-get install chromium chromium-driver)")]


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1600", "--allow-file-access-from-files"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)  # Debian's driver: no download
    yield driver
    driver.quit()


def _open(driver, page: Path, name: str) -> None:
    """Load PAGE; fail on a console error or an image that did not load; keep a screenshot if asked."""
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(page.resolve().as_uri())
    driver.execute_async_script(  # every image settled (loaded or failed)
        "const done = arguments[arguments.length - 1];"
        "Promise.all([...document.images].map(i => i.complete ? 0 : new Promise(r => i.onload = i.onerror = r)))"
        ".then(done);")
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == [], f"{name}: console errors {errors}"
    broken = driver.execute_script(
        "return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    assert broken == [], f"{name}: images that did not load: {broken}"
    keep = os.environ.get("DIVLAB_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1280, min(max(height + 40, 600), 6000))
        driver.save_screenshot(str(Path(keep) / f"{name}.png"))
        driver.set_window_size(1280, 1600)


def test_the_sweep_report_shows_its_verdict_and_figures(browser, tmp_path):
    from divlab.report import write_report

    run = tmp_path / "e1"  # the gallery's committed E1 sweep, reported afresh
    run.mkdir()
    for name in ("experiment.json", "results.sqlite"):
        shutil.copy(REPO / "docs" / "results" / "e1" / name, run / name)
    page = write_report(run)
    _open(browser, page, "sweep-report")
    verdict = browser.find_element("css selector", ".verdict")
    assert verdict.get_attribute("data-status") in ("shown", "not shown", "not enough data") and verdict.text
    sizes = browser.execute_script("return [...document.querySelectorAll('figure img')].map(i => i.naturalWidth)")
    assert len(sizes) >= 1 and all(width > 100 for width in sizes)


def test_a_gallery_page_renders_with_its_figures(browser, tmp_path):
    markdown = pytest.importorskip("markdown")
    results = REPO / "docs" / "results"
    body = markdown.markdown((results / "e1.md").read_text(encoding="utf-8"), extensions=["tables"])
    # The page as a Markdown viewer shows it: its relative figure paths resolve against docs/results/.
    page = tmp_path / "e1.html"
    page.write_text(f"<!doctype html><html><head><meta charset='utf-8'><base href='{results.as_uri()}/'>"
                    f"<title>e1</title></head><body>{body}</body></html>", encoding="utf-8")
    _open(browser, page, "gallery-e1")
    assert browser.execute_script("return document.images.length") >= 1
    text = browser.find_element("tag name", "body").text
    assert "shown" in text.lower()  # the gallery states its verdict in words


def test_the_map_shows_the_instruction_of_the_point_under_the_pointer(browser, tmp_path):
    from selenium.webdriver import ActionChains

    from divlab.diversity import measure_diversity

    rows = [{"instruction": f"Write a function {i} that sorts {i} numbers in order"} for i in range(20)]
    data = tmp_path / "small.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    measure_diversity([str(data)], tmp_path / "div", [], sample=20, seed=0, progress=False)
    _open(browser, tmp_path / "div" / "map.html", "diversity-map")
    circles = browser.find_elements("css selector", "svg circle")
    assert len(circles) == 20
    instructions = {f"small.jsonl: {r['instruction']}" for r in rows}
    for circle in circles[:5]:
        ActionChains(browser).move_to_element(circle).perform()
        # The browser shows the <title> of the element under the pointer: the topmost point there.
        shown = browser.execute_script(
            "const r = arguments[0].getBoundingClientRect();"
            "const top = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);"
            "return top && top.querySelector('title') ? top.querySelector('title').textContent : null;", circle)
        assert shown in instructions


def test_the_checks_catch_a_console_error_and_a_missing_image(browser, tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text("<!doctype html><html><body><script>throw new Error('boom')</script></body></html>")
    with pytest.raises(AssertionError, match="console errors"):
        _open(browser, broken, "broken-script")
    missing = tmp_path / "missing.html"
    missing.write_text("<!doctype html><html><body><img src='nowhere.png'></body></html>")
    with pytest.raises(AssertionError, match="console errors|did not load"):
        _open(browser, missing, "broken-image")
