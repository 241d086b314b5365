"""The documentation site builds: ``mkdocs build --strict`` (any warning fails it: a broken link,
a name mkdocstrings cannot find, a docstring griffe cannot parse), offline, into a temporary
folder. Needs the ``docs`` extra; without mkdocs the test is skipped, saying so.

Which names the reference pages document, and that each has a docstring, is checked in
tests/test_docstrings.py, from the same list the site is built from."""

import doctest
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Material's plugins that download at build time (fonts and images for social cards; every
# external asset for privacy): the build must not need a network.
NETWORK_PLUGINS = ("social", "privacy", "material/social", "material/privacy")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The built site's folder, and the build's output."""
    for module in ("mkdocs", "material", "mkdocstrings_handlers.python"):
        pytest.importorskip(module, reason=f"{module} is not installed: install the docs extra "
                            "(pip install -e '.[docs]') to build the site")
    out = tmp_path_factory.mktemp("site")
    # a proxy no one listens on: anything fetched from the network fails the build
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "HTTP_PROXY": "http://127.0.0.1:9",
           "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
    started = time.perf_counter()
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(ROOT / "mkdocs.yml"), "--site-dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    print(f"mkdocs build --strict: {time.perf_counter() - started:.1f} s")
    return out, build


def test_mkdocs_build_strict_succeeds(built):
    out, build = built
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stdout}{build.stderr}"
    assert (out / "index.html").is_file()


def test_every_reference_page_the_nav_names_is_built(built):
    from test_docstrings import reference  # the hook that writes the pages

    out, _ = built
    pages = reference.reference_pages()
    assert "autograd_lite" in pages and "autograd_lite.Tensor" in pages
    missing = [p for p in pages if not (out / "reference" / p / "index.html").is_file()]
    assert not missing, f"reference pages not built: {missing}"


def test_doctests_render_as_code_not_as_quotes(built):
    """Markdown reads a bare ``>>>`` as three nested quotes; the griffe extension fences them."""
    out, _ = built
    tensor_page = (out / "reference" / "autograd_lite.Tensor" / "index.html").read_text()
    assert "&gt;&gt;&gt;" in tensor_page
    quoted = [p.parent.name for p in (out / "reference").glob("*/index.html")
              if "<blockquote>" in p.read_text()]
    assert not quoted, f"doctests rendered as block quotes on: {quoted}"


FENCE = re.compile(r"(<!-- not run[^>]*-->\n)?```(\w+)\n(.*?)\n```", re.DOTALL)
GUIDES = sorted((ROOT / "docs").glob("*.md"))  # the examples' pages only show commands


@pytest.fixture
def registry_restored():
    """An op a page declares (``cube``) is gone from the registry after the test."""
    from autograd_lite.ops import registry

    tables = (registry.REGISTRY, registry.COMPOSITES, registry.NUMPY_DISPATCH)
    saved = [dict(table) for table in tables]
    yield
    for table, before in zip(tables, saved):
        table.clear()
        table.update(before)


@pytest.mark.parametrize("page", GUIDES, ids=[p.name for p in GUIDES])
@pytest.mark.usefixtures("registry_restored")
def test_the_code_on_each_guide_page_runs(page, tmp_path, monkeypatch):
    """Each page's ```python blocks run in order in one namespace, and its ```pycon blocks
    are doctests there (a block after ``<!-- not run: why -->`` is skipped)."""
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for skipped, language, code in FENCE.findall(page.read_text()):
        if skipped:
            continue
        if language == "python":
            exec(compile(code, page.name, "exec"), namespace)
        elif language == "pycon":
            test = doctest.DocTestParser().get_doctest(code, namespace, page.name, str(page), 0)
            report = []
            runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
            runner.run(test, out=report.append, clear_globs=False)
            assert not runner.failures, "".join(report)
            namespace.update(test.globs)  # a DocTest runs in a copy


def test_no_plugin_fetches_from_the_network():
    config = (ROOT / "mkdocs.yml").read_text()
    plugins = config.split("\nplugins:", 1)[1].split("\n\n", 1)[0]
    named = [line.strip(" -:") for line in plugins.splitlines() if line.startswith("  - ")]
    assert named and not set(named) & set(NETWORK_PLUGINS), named
    assert "font: false" in config  # no web fonts fetched by the pages either
