"""The pages in a real browser (headless Chromium, driven by selenium): no console error and no
request at all (everything is inside the page), every image decoded, every chart drawn, the
slider moving the grid, the config table complete. Screenshots go to a temp folder.

Chromium and its driver come from Debian (.ci/run installs them); in CI these tests never skip."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import tomllib
from pathlib import Path
from typing import Any, Iterator

import pytest

from counterfeit.report import write_report
from counterfeit.report.compare import write_comparison
from counterfeit.report.rundata import read_run

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")

# For each chart uPlot drew: its id, the values it holds, and how many of its canvas pixels are
# coloured (axes, grid and text are grey; curves and bars are not).
CHARTS_DRAWN = """
return window.counterfeit.charts.map((plot) => {
  const canvas = plot.ctx.canvas;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let coloured = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    const [r, g, b, a] = [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]];
    if (a > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
  }
  const values = plot.data.slice(1).reduce((n, ys) => n + ys.filter((y) => y != null).length, 0);
  return {id: plot.spec.id, values: values, coloured: coloured};
});
"""
IMAGES = "return [...document.images].map((img) => [img.alt, img.complete, img.naturalWidth]);"
SHOWN_GRID = """
const shown = [...document.querySelectorAll('#grids figure')].filter((figure) => !figure.hidden);
return shown.map((figure) => [figure.dataset.label, figure.querySelector('img').src.length,
                              figure.querySelector('img').src.slice(-200), figure.offsetWidth]);
"""
COLUMN = "return [...document.querySelectorAll(arguments[0])].map((cell) => cell.textContent.trim());"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium and chromium-driver are missing: .ci/run installs them, and CI runs these tests")
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tempfile.mkdtemp(prefix="chromium-")
    for flag in (*FLAGS, f"--user-data-dir={profile}", "--window-size=1280,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")  # selenium must not look for drivers on the network
        driver = webdriver.Chrome(options=options, service=Service(chromedriver))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def open_page(browser: Any, page: Path, screenshot: Path) -> None:
    """Load the page and check what every page must satisfy; leave a full-page screenshot."""
    browser.get_log("browser"), browser.get_log("performance")  # start with empty logs
    browser.set_window_size(1280, 900)
    browser.get(page.resolve().as_uri())
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors
    requests = [json.loads(entry["message"])["message"] for entry in browser.get_log("performance")]
    failed = [r["params"] for r in requests if r["method"] == "Network.loadingFailed"]
    assert not failed, failed
    fetched = [r["params"]["request"]["url"] for r in requests if r["method"] == "Network.requestWillBeSent"]
    assert all(url == page.resolve().as_uri() or url.startswith("data:") for url in fetched), fetched
    images = browser.execute_script(IMAGES)
    assert images and all(complete and width > 0 for _, complete, width in images), images
    charts = browser.execute_script(CHARTS_DRAWN)
    boxes = browser.execute_script(COLUMN, ".chart")
    assert len(charts) == len(boxes) > 0
    for chart in charts:
        assert chart["values"] > 0 and chart["coloured"] > 50, chart
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(height + 120, 8000))
    browser.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 0


def check_slider(browser: Any) -> None:
    """Moving the slider shows another grid: one figure at a time, another step, another image."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    before = browser.execute_script(SHOWN_GRID)
    browser.find_element(By.ID, "grid-slider").send_keys(Keys.HOME)
    after = browser.execute_script(SHOWN_GRID)
    assert len(before) == len(after) == 1 and before[0][3] > 0 and after[0][3] > 0
    assert after[0][0] != before[0][0] and after[0][1:3] != before[0][1:3]
    assert after[0][0].startswith("step 0 ")
    assert browser.find_element(By.ID, "grid-step").text == after[0][0]


def check_config_table(browser: Any, run: Path) -> None:
    written = tomllib.loads((run / "config.toml").read_text("utf-8"))
    run_info = written.pop("run")
    assert browser.execute_script(COLUMN, "#config tbody td:first-child") == list(written)
    assert browser.execute_script(COLUMN, "#run-info tbody td:first-child") == list(run_info)


def test_finished_run(browser: Any, finished_run: Path, screenshots: Path) -> None:
    page = write_report(finished_run)
    open_page(browser, page, screenshots / "finished.png")
    check_slider(browser)
    check_config_table(browser, finished_run)
    assert browser.execute_script(COLUMN, "#status") == ["finished"]
    ids = [chart["id"] for chart in browser.execute_script(CHARTS_DRAWN)]
    assert ids[:3] == ["chart-d_loss", "chart-d_real", "chart-fid"]
    assert len(browser.execute_script(COLUMN, "#evaluation tbody tr")) == 12  # every metric of eval.json
    assert "low_diversity" in browser.execute_script(COLUMN, "#warnings li")[0]
    highlighted = browser.execute_script(COLUMN, "#config tr.differs td:first-child")
    assert highlighted == ["eval_every"]  # the only key set beside the preset's


def test_switching_the_x_axis_to_wall_clock_redraws_every_chart(browser: Any, finished_run: Path,
                                                                 tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    page = write_report(finished_run, tmp_path / "copy.html")
    open_page(browser, page, tmp_path / "shot.png")
    browser.find_element(By.CSS_SELECTOR, "#x-axis input[value=seconds]").click()
    charts = browser.execute_script(CHARTS_DRAWN)
    labels = browser.execute_script("return window.counterfeit.charts.map((plot) => plot.series[0].label)")
    assert set(labels) == {"wall-clock (h:mm:ss)"}
    assert all(chart["values"] > 0 and chart["coloured"] > 50 for chart in charts), charts


def test_hover_shows_the_values_and_a_drag_zooms(browser: Any, finished_run: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    page = write_report(finished_run, tmp_path / "copy.html")
    open_page(browser, page, tmp_path / "shot.png")
    chart = browser.find_element(By.ID, "chart-d_loss")
    overlay = chart.find_element(By.CLASS_NAME, "u-over")
    legend = "return [...arguments[0].querySelectorAll('.u-legend .u-value')].map((cell) => cell.textContent);"
    assert browser.execute_script(legend, chart) == ["-", "--", "--"]  # step, D loss, G loss: nothing hovered
    ActionChains(browser).move_to_element(overlay).perform()
    step, d_loss, g_loss = browser.execute_script(legend, chart)
    assert int(step) in (1, 10, 20, 30, 40, 50) and float(d_loss) > 0 and float(g_loss) > 0
    scale = "return [window.counterfeit.charts[0].scales.x.min, window.counterfeit.charts[0].scales.x.max];"
    low, high = browser.execute_script(scale)
    ActionChains(browser).move_to_element_with_offset(overlay, -150, 0).click_and_hold() \
        .move_by_offset(200, 0).release().perform()
    zoomed = browser.execute_script(scale)
    assert low < zoomed[0] < zoomed[1] < high


def test_running_run(browser: Any, running_run: tuple[Path, Path], screenshots: Path) -> None:
    """The page the loop itself wrote mid-run, opened from elsewhere (it needs nothing beside it)."""
    run, page = running_run
    open_page(browser, page, screenshots / "running.png")
    check_slider(browser)
    check_config_table(browser, run)
    assert browser.execute_script(COLUMN, "#status") == ["running"]
    assert "progress.gif is written when the run ends." in browser.execute_script(COLUMN, "p.hint")


def test_conditional_run(browser: Any, conditional_run: Path, screenshots: Path) -> None:
    page = write_report(conditional_run)
    open_page(browser, page, screenshots / "conditional.png")
    check_slider(browser)
    check_config_table(browser, conditional_run)
    charts = {chart["id"]: chart for chart in browser.execute_script(CHARTS_DRAWN)}
    assert charts["chart-per-digit"]["values"] == 20  # ten bars and ten floor dots
    assert "chart-cond_accuracy" in charts


def run_step(run: Path) -> int:
    return read_run(run).grids[-1].step


def test_comparison_of_three_runs(browser: Any, finished_run: Path, conditional_run: Path,
                                  running_run: tuple[Path, Path], screenshots: Path, tmp_path: Path) -> None:
    run, _ = running_run
    page = tmp_path / "compare.html"
    write_comparison([finished_run, conditional_run, run], page)
    open_page(browser, page, screenshots / "compare.png")
    assert browser.execute_script(COLUMN, "#runs thead th")[1:] == ["tiny-eval", "cgan-tiny", "tiny-running"]
    assert browser.execute_script(COLUMN, "#final-metrics tbody tr:first-child td")[3] == "no metrics"
    assert browser.execute_script(COLUMN, "#final-metrics td.best")  # a best value marked in the rows with two
    assert "preset" in browser.execute_script(COLUMN, "#config-diff tbody td:first-child")
    assert [alt for alt, _, _ in browser.execute_script(IMAGES)] == [
        "tiny-eval at step 50", "cgan-tiny at step 6", f"tiny-running at step {run_step(run)}"]
