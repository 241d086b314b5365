"""The replay page of ``viz.backward_steps`` in a real browser: headless Chromium, driven with
Selenium through Debian's chromedriver (``.ci/install-browser`` installs both).

A user moves the slider with the keyboard; the page must show that step: its description, the
gradients so far in the tensor boxes, the gradients sent on the active op's input edges, the
active op highlighted, and no error in the browser console. With VIZ_PAGE_SCREENSHOT_DIR set
to a folder, the page at its last step is saved there as ``backward_steps.png`` (the README's
picture: ``VIZ_PAGE_SCREENSHOT_DIR=docs``).
"""

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.keys import Keys

import autograd_lite as ag
from autograd_lite import nn, viz

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="no chromium or chromedriver on PATH: run .ci/install-browser (Debian's packages)")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--force-device-scale-factor=2"]  # a sharp screenshot; the page reads the same

# What the visible frame shows, read in one round trip: the step counter, which frames are
# visible, the description, every node (its text lines and fill) and every edge (its label).
READ_PAGE = """
const frames = [...document.querySelectorAll(".frame")].filter(f => f.checkVisibility());
const lines = g => [...g.querySelectorAll("text")].map(t => t.textContent);
const title = g => g.querySelector("title").textContent;
return {
  slider: document.getElementById("slider").value,
  counter: document.getElementById("n").textContent,
  shown: frames.map(f => f.id),
  text: frames.length ? frames[0].querySelector("pre").textContent : null,
  nodes: frames.length ? [...frames[0].querySelectorAll("g.node")].map(g => ({
    id: title(g), lines: lines(g),
    fill: g.querySelector("ellipse, polygon, path").getAttribute("fill")})) : [],
  edges: frames.length ? [...frames[0].querySelectorAll("g.edge")].map(g => ({
    id: title(g), label: lines(g).join(" ")})) : [],
};
"""


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    """A 2-2-1 MLP's squared error, replayed with named parameters, and its page."""
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1))
    x, y = ag.tensor([[0.5, -1.0]]), ag.tensor([[1.0]])
    x.name, y.name = "x", "y"
    params = dict(model.named_parameters())
    steps = viz.backward_steps(((model(x) - y) ** 2).mean(), params=params)
    page = steps.to_html(tmp_path_factory.mktemp("page") / "backward.html")
    return steps, params, page.resolve().as_uri()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console messages
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_window_size(1400, 800)
    yield driver
    driver.quit()


def console_errors(driver):
    """Errors logged in the browser console (uncaught exceptions included) since last asked."""
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE"]


def numbers(text):
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?", text)]


def assert_shows_step(driver, steps, i):
    """The page shows step ``i`` of ``steps``, as computed on the Python side."""
    page = driver.execute_script(READ_PAGE)
    assert (page["slider"], page["counter"], page["shown"]) == (str(i), str(i), [f"f{i}"])
    assert page["text"] == steps[i].describe()
    active = [n["lines"][0] for n in page["nodes"] if n["fill"] == viz.ACTIVE_OP_STYLE["fillcolor"]]
    assert active == [steps[i].op]
    # the tensor boxes (ids t0, t1...): the gradients so far, and none where none arrived yet
    boxes = {n["id"]: n["lines"] for n in page["nodes"] if n["id"].startswith("t")}
    grads = {lines[0]: numbers(line.removeprefix("grad "))
             for lines in boxes.values() for line in lines if line.startswith("grad ")}
    assert grads.keys() == steps[i].grads.keys()
    for name, grad in steps[i].grads.items():
        np.testing.assert_allclose(grads[name], np.ravel(grad), rtol=1e-3, err_msg=name)
    # the active op's input edges: what it sent to each input
    sent = {boxes[e["id"].split("->")[0]][0]: numbers(e["label"].removeprefix("grad "))
            for e in page["edges"] if e["label"]}
    assert sent.keys() == steps[i].sent.keys()
    for name, grad in steps[i].sent.items():
        np.testing.assert_allclose(sent[name], np.ravel(grad), rtol=1e-3, err_msg=name)
    return grads


def test_the_arrow_keys_replay_backward_step_by_step(browser, trace):
    steps, params, url = trace
    browser.get(url)
    assert_shows_step(browser, steps, 0)
    slider = browser.find_element("id", "slider")
    for i in range(1, len(steps)):
        slider.send_keys(Keys.ARROW_RIGHT)
        grads = assert_shows_step(browser, steps, i)
    for name, p in params.items():  # the last step shows what backward() left in .grad
        np.testing.assert_allclose(grads[name], p.grad.numpy().ravel(), rtol=1e-3, err_msg=name)
    slider.send_keys(Keys.ARROW_LEFT)
    assert_shows_step(browser, steps, len(steps) - 2)
    slider.send_keys(Keys.HOME)
    assert_shows_step(browser, steps, 0)
    slider.send_keys(Keys.END)
    assert_shows_step(browser, steps, len(steps) - 1)
    assert console_errors(browser) == []
    folder = os.environ.get("VIZ_PAGE_SCREENSHOT_DIR")
    if folder:  # the README's picture of the page at its last step
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1400, height)
        browser.save_screenshot(str(Path(folder) / "backward_steps.png"))


def test_the_slider_starts_at_step_0_with_focus_for_the_keyboard(browser, trace):
    steps, _, url = trace
    browser.get(url)
    assert browser.switch_to.active_element.get_attribute("id") == "slider"
    assert_shows_step(browser, steps, 0)
    assert console_errors(browser) == []


def test_coming_back_to_the_page_shows_the_step_the_slider_kept(browser, trace):
    steps, _, url = trace
    browser.get(url)
    browser.find_element("id", "slider").send_keys(Keys.END)
    browser.get("about:blank")
    browser.back()  # the browser restores the slider's position after the page's script ran
    assert_shows_step(browser, steps, len(steps) - 1)
    assert console_errors(browser) == []
