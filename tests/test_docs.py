"""Every guide's code runs: a guide that stops working fails the build.

Each page of ``docs/`` is run against its own ``FakeKlaviyo`` served on loopback, with
``KLAVIYO_BASE_URL`` and ``KLAVIYO_API_KEY`` set, so the guides read like real usage
(``async with Klaviyo() as kl:``):

* its untitled ```` ```python ```` blocks run in order in one namespace, top-level ``await``
  allowed;
* its titled blocks (```` ```python title="test_signup.py" ````, also ``toml``) are files of a
  small project written to a temporary folder; when one is a ``test_*.py`` that project's
  tests are run with pytest and must all pass.

Blocks that must not run use ```` ```sh ```` (or ``text``); a block in any other language, or
with none, fails here so that no code is skipped by accident. A page needing a fake set up in a
particular way (seeded campaigns, quick jobs) says so in ``FAKE_OPTIONS`` / ``SEED`` below.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from klaviyo_campaigns import REVISIONS
from klaviyo_campaigns._generated.operations import OPERATIONS
from klaviyo_campaigns.testing import FakeKlaviyo, Timings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))

RUN = {"python"}
SHOWN_ONLY = {"sh", "text", "console"}
FILE_ONLY = {"toml", "ini", "yaml"}  # only as titled files of a page's project

# Jobs and sends that take a fraction of a second, so polling guides finish quickly.
QUICK = Timings(
    job_queued=timedelta(seconds=0.2),
    job_processing=timedelta(seconds=0.3),
    sending=timedelta(seconds=0.3),
)
FAKE_OPTIONS: dict[str, dict[str, Any]] = {
    "polling": {"timings": QUICK},
    "quickstart": {"timings": QUICK},
}
SEED: dict[str, Callable[[FakeKlaviyo], object]] = {
    "index": lambda fake: fake.seed_campaigns(3),
    "pagination": lambda fake: (
        fake.seed_campaigns(120),
        fake.seed_campaigns(120, revision=REVISIONS.pre),
    ),
    "filters": lambda fake: fake.seed_campaigns(5, channel="sms"),
}

FENCE = re.compile(
    r"^(?P<indent>[ ]*)```(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```[ ]*$",
    re.MULTILINE | re.DOTALL,
)
TITLE = re.compile(r'title="(?P<title>[^"]+)"')


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    language: str
    title: str | None
    line: int  # of the first line of code, 1-based
    code: str


def blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown page, in order."""
    found = []
    for match in FENCE.finditer(text):
        info = match["info"].strip()
        language = info.split()[0] if info else ""
        title = TITLE.search(info)
        indent = len(match["indent"])
        code = "".join(line[indent:] for line in match["body"].splitlines(keepends=True))
        line = text.count("\n", 0, match.start("body")) + 1
        found.append(Block(language, title["title"] if title else None, line, code))
    return found


GUIDES = [*sorted((DOCS / "guides").glob("*.md")), DOCS / "index.md"]
BLOCKS = {page: blocks(page.read_text()) for page in PAGES}


def test_fence_parser_reads_languages_titles_and_lines() -> None:
    text = (
        'x\n```python\na = 1\n```\n\n```python title="t.py"\nb\n```\n    ```sh\n    ls\n    ```\n'
    )
    assert blocks(text) == [
        Block("python", None, 3, "a = 1\n"),
        Block("python", "t.py", 7, "b\n"),
        Block("sh", None, 10, "ls\n"),
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_every_block_has_a_known_language(page: Path) -> None:
    for block in BLOCKS[page]:
        where = f"{page.relative_to(ROOT)}:{block.line}"
        assert block.language in RUN | SHOWN_ONLY | FILE_ONLY, (
            f"{where}: block language {block.language!r}: use python (run), sh/text (shown only)"
        )
        if block.language in FILE_ONLY:
            assert block.title, f"{where}: a {block.language} block must be a titled file"


def test_every_guide_has_code_that_runs() -> None:
    assert len(GUIDES) >= 12
    for page in GUIDES:
        assert any(b.language == "python" for b in BLOCKS[page]), page


async def run_script(page: Path, code_blocks: list[Block]) -> dict[str, Any]:
    """Run a page's untitled python blocks in order in one namespace."""
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for block in code_blocks:
        # Padding keeps line numbers in tracebacks equal to the page's.
        source = "\n" * (block.line - 1) + block.code
        code = compile(
            source, str(page.relative_to(ROOT)), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        )
        result = eval(code, namespace)
        if inspect.iscoroutine(result):
            await result
    return namespace


def run_project(page: Path, files: list[Block], folder: Path) -> None:
    """Write a page's titled blocks as files and run their tests with pytest."""
    for block in files:
        assert block.title is not None
        target = folder / block.title
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.code)
    if not any(Path(b.title or "").name.startswith("test_") for b in files):
        return
    # Only the plugins a user's project would have: not this repo's dev plugins.
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    command = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "pytest_asyncio.plugin"]
    result = subprocess.run(
        [sys.executable, *command, str(folder)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{page.relative_to(ROOT)}:\n{result.stdout}\n{result.stderr}"
    assert " passed" in result.stdout and " failed" not in result.stdout


@pytest.mark.parametrize("page", GUIDES, ids=lambda p: p.stem)
async def test_guide_runs(page: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    found = BLOCKS[page]
    script = [b for b in found if b.language == "python" and b.title is None]
    files = [b for b in found if b.title is not None]
    fake = FakeKlaviyo(**FAKE_OPTIONS.get(page.stem, {}))
    seed = SEED.get(page.stem)
    if seed is not None:
        seed(fake)
    monkeypatch.delenv("KLAVIYO_API_KEY", raising=False)
    # What a page changes in the process (sys.path, the SDK's log level) is put back after it.
    monkeypatch.setattr(sys, "path", list(sys.path))
    logger = logging.getLogger("klaviyo_campaigns")
    level = logger.level
    try:
        async with fake.serve() as url:
            monkeypatch.setenv("KLAVIYO_BASE_URL", url)
            monkeypatch.setenv("KLAVIYO_API_KEY", "pk_docs_example")
            monkeypatch.chdir(tmp_path)
            await run_script(page, script)
    finally:
        logger.setLevel(level)
    assert fake.unexpected_errors == []
    if files:
        run_project(page, files, tmp_path / "project")


def load_hooks() -> Any:
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_lists_every_generated_operation_once() -> None:
    pages = load_hooks().operation_pages()
    listed = 0
    for revision, operations in OPERATIONS.items():
        page = pages[f"reference/operations/{'pre' if revision.endswith('.pre') else 'stable'}.md"]
        headings = re.findall(r"^### `(\w+)` \{ #\w+ \}$", page, re.MULTILINE)
        assert sorted(headings) == sorted(op.removesuffix("_beta") for op in operations)
        for operation in operations.values():
            assert f"`{operation.method} {operation.path}`" in page
            assert f"operationId | `{operation.id}`" in page
        listed += len(headings)
    total = sum(len(ops) for ops in OPERATIONS.values())
    assert listed == total
    assert f"**{total} operations**" in pages["reference/operations/index.md"]


def test_reference_entry_shows_signature_limits_scopes_filters_and_paging() -> None:
    page = load_hooks().operation_pages()["reference/operations/pre.md"]
    entry = page.split("### `get_campaign_messages`")[1].split("\n### ")[0]
    assert "async def get_campaign_messages(" in entry
    assert "page_cursor: str | None = None" in entry
    assert "| HTTP | `GET /api/campaign-messages` |" in entry
    assert "| rate limits | 10/s burst, 150/min steady |" in entry
    assert "| scopes | `campaigns:read` |" in entry
    assert "yes: `kl.paginate(kl.pre.get_campaign_messages, ...)`" in entry
    assert "| `campaign_id` | `equals` |" in entry
    assert "`-created`" in entry and "`campaign-variations`" in entry


def test_the_errors_guide_draws_the_hierarchy_of_the_errors_module() -> None:
    from klaviyo_campaigns import errors

    drawn = [line[4:] for line in (errors.__doc__ or "").splitlines() if line.startswith("    ")]
    guide = next(b for b in BLOCKS[DOCS / "guides" / "errors.md"] if b.language == "text")
    assert guide.code.splitlines() == drawn


def test_the_retry_table_names_the_patches_the_policy_treats_as_values_and_as_actions() -> None:
    from klaviyo_campaigns import _retry

    text = (DOCS / "guides" / "errors.md").read_text()
    values = next(line for line in text.splitlines() if line.startswith("| idempotent writes"))
    guarded = next(line for line in text.splitlines() if line.startswith("| guarded writes"))
    others = next(line for line in text.splitlines() if line.startswith("| other writes"))
    named = set(re.findall(r"`(\w+)`", values))
    assert named >= _retry._VALUE_PATCHES
    assert set(re.findall(r"`(\w+)`", guarded)) == _retry._GUARDED
    assert _retry._ACTION_PATCHES <= _retry._GUARDED
    assert not named & _retry._ACTION_PATCHES
    assert not set(re.findall(r"`(\w+)`", others)) & (_retry._GUARDED | _retry._VALUE_PATCHES)
