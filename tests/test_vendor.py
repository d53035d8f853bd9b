"""Vendoring: the package copied under another name works on its own.

``python -m codegen.vendor DEST acme_klaviyo`` copies the package; a separate interpreter then
imports ``acme_klaviyo`` with the real ``klaviyo_campaigns`` NOT importable and runs real calls
against the fake Klaviyo (the vendored copy's own ``acme_klaviyo.testing``) over loopback HTTP.

The child runs ``python -I -S``: isolated (no current folder, no PYTHON* variables) and without
the ``site`` module, so the ``.pth`` file of the editable install, which is what makes
``klaviyo_campaigns`` importable from anywhere, is never processed. The site-packages folder is
put back on ``sys.path`` by hand for the dependencies (httpx, attrs, starlette, ...). The child
also makes every distribution-metadata lookup fail and records, during import, any environment
read, socket, subprocess, thread or logging change made by the vendored code.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from codegen.vendor import VendorError, vendor
from klaviyo_campaigns import REVISIONS, __version__

ROOT = Path(__file__).resolve().parent.parent

CHILD = textwrap.dedent(
    '''
    import asyncio, importlib, importlib.metadata, importlib.util, json, logging, os, pkgutil
    import sys, sysconfig, threading

    dest, name, *libs = sys.argv[1:]
    sys.path[:0] = [dest]
    sys.path += libs
    vendored = os.path.join(dest, name)
    report = {}

    # Without `site`, the editable install's finder is not there: the real package is unreachable.
    report["real_package_importable"] = importlib.util.find_spec("klaviyo_campaigns") is not None

    # No distribution metadata of its own, as for a copy in someone's tree: a lookup of the
    # SDK's distribution (under either name) fails and is recorded. Dependencies keep theirs.
    metadata_lookups = []
    real_distribution = importlib.metadata.distribution
    def distribution(distribution_name):
        normalized = distribution_name.lower().replace("_", "-")
        if normalized in ("klaviyo-campaigns", name.replace("_", "-")):
            metadata_lookups.append(distribution_name)
            raise importlib.metadata.PackageNotFoundError(distribution_name)
        return real_distribution(distribution_name)
    importlib.metadata.distribution = distribution

    STDLIB = (sysconfig.get_paths()["stdlib"], "<frozen")
    def blamed(frame):
        """Whether the first frame outside the standard library is the vendored code's own."""
        while frame is not None and frame.f_code.co_filename.startswith(STDLIB):
            frame = frame.f_back
        return frame is not None and frame.f_code.co_filename.startswith(vendored)

    class RecordingEnviron(dict):
        reads = []
        def __getitem__(self, key):
            if blamed(sys._getframe(1)):
                self.reads.append(key)
            return super().__getitem__(key)
        def get(self, key, default=None):
            if blamed(sys._getframe(1)):
                self.reads.append(key)
            return super().get(key, default)
        def __contains__(self, key):
            if blamed(sys._getframe(1)):
                self.reads.append(key)
            return super().__contains__(key)

    events = []
    watching = False
    WATCHED = ("socket.connect", "socket.bind", "socket.getaddrinfo", "subprocess.Popen",
               "os.system", "_thread.start_new_thread")
    def audit(event, args):
        if watching and event in WATCHED and blamed(sys._getframe(1)):
            events.append(event)
    sys.addaudithook(audit)

    real_environ = os.environ
    os.environ = RecordingEnviron(real_environ)
    threads = threading.active_count()
    handlers = list(logging.root.handlers)
    level = logging.root.level
    watching = True
    package = importlib.import_module(name)
    modules = [package.__name__]
    for info in pkgutil.walk_packages(package.__path__, name + "."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
            modules.append(info.name)
    watching = False
    os.environ = real_environ
    report["modules_imported"] = len(modules)
    report["import_side_effects"] = {
        "environ_reads": RecordingEnviron.reads,
        "events": events,
        "threads_started": threading.active_count() - threads,
        "root_logging_changed": logging.root.handlers != handlers or logging.root.level != level,
    }
    report["version"] = package.__version__
    report["revisions"] = list(package.REVISIONS)
    report["package_file"] = package.__file__

    async def call():
        Klaviyo = package.Klaviyo
        F = importlib.import_module(name + ".filters").F
        FakeKlaviyo = importlib.import_module(name + ".testing").FakeKlaviyo
        models = importlib.import_module(name + "._generated.stable.models")
        body = models.CampaignCreateQuery.from_dict({"data": {"type": "campaign", "attributes": {
            "name": "Vendored",
            "audiences": {"included": ["LIST1"], "excluded": []},
            "campaign-messages": {"data": [{"type": "campaign-message", "attributes": {
                "definition": {"channel": "email",
                               "content": {"subject": "Hi", "from_email": "a@example.com"}}}}]},
        }}})
        fake = FakeKlaviyo()
        async with fake.serve() as base_url, Klaviyo(api_key="pk_test", base_url=base_url) as kl:
            created = await kl.stable.create_campaign(body=body)
            fetched = await kl.stable.get_campaign(created.data.id)
            listed = await kl.stable.get_campaigns(filter=F.equals("messages.channel", "email"))
            try:
                await kl.stable.get_campaign("no-such-campaign")
            except Exception as exc:
                not_found = f"{type(exc).__module__}.{type(exc).__name__}"
        return {
            "base_url": base_url,
            "created_name": fetched.data.attributes.name,
            "listed_ids": [c.id for c in listed.data],
            "created_id": created.data.id,
            "model_module": type(fetched).__module__,
            "not_found": not_found,
            "writes": fake.counters.writes.get("create_campaign"),
        }

    report["call"] = asyncio.run(call())
    report["metadata_lookups"] = metadata_lookups
    report["real_package_loaded"] = sorted(
        m for m in sys.modules if m == "klaviyo_campaigns" or m.startswith("klaviyo_campaigns."))
    print(json.dumps(report))
    '''
)


def site_packages() -> list[str]:
    """Where the dependencies are installed (the editable install's .pth lives here too)."""
    paths = sysconfig.get_paths()
    return sorted({paths["purelib"], paths["platlib"]})


@pytest.fixture(scope="module")
def vendored_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    dest = tmp_path_factory.mktemp("elsewhere") / "third_party"
    proc = subprocess.run(
        [sys.executable, "-m", "codegen.vendor", str(dest), "acme_klaviyo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    child = subprocess.run(
        [sys.executable, "-I", "-S", "-c", CHILD, str(dest), "acme_klaviyo", *site_packages()],
        cwd=dest,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    result: dict[str, object] = json.loads(child.stdout.strip().splitlines()[-1])
    result["dest"] = str(dest)
    return result


def test_the_real_package_is_not_importable_in_the_child(vendored_run: dict[str, object]) -> None:
    assert vendored_run["real_package_importable"] is False
    assert vendored_run["real_package_loaded"] == []


def test_the_vendored_copy_is_what_was_imported(vendored_run: dict[str, object]) -> None:
    assert str(vendored_run["package_file"]).startswith(str(vendored_run["dest"]))
    assert vendored_run["modules_imported"] > 100  # every module, the generated ones included


def test_a_real_call_runs_through_the_vendored_copy(vendored_run: dict[str, object]) -> None:
    call = vendored_run["call"]
    assert isinstance(call, dict)
    assert str(call["base_url"]).startswith("http://127.0.0.1:")
    assert call["created_name"] == "Vendored"
    assert call["listed_ids"] == [call["created_id"]]
    assert call["writes"] == 1
    assert str(call["model_module"]).startswith("acme_klaviyo._generated.stable.")
    assert call["not_found"] == "acme_klaviyo.errors.NotFoundError"


def test_version_needs_no_distribution_metadata(vendored_run: dict[str, object]) -> None:
    assert vendored_run["version"] == __version__
    assert vendored_run["revisions"] == list(REVISIONS)
    assert vendored_run["metadata_lookups"] == []


def test_importing_every_module_has_no_side_effects(vendored_run: dict[str, object]) -> None:
    assert vendored_run["import_side_effects"] == {
        "environ_reads": [],
        "events": [],
        "threads_started": 0,
        "root_logging_changed": False,
    }


def test_the_copy_has_no_byte_code_and_all_package_data(vendored_run: dict[str, object]) -> None:
    copy = Path(str(vendored_run["dest"])) / "acme_klaviyo"
    source = ROOT / "klaviyo_campaigns"

    def files(root: Path) -> set[str]:
        return {
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }

    # the child ran from the copy, so it may have written byte code since; compare the sources
    assert {f for f in files(copy) if not f.endswith(".pyc")} == files(source)
    assert (copy / "_generated" / "pre" / "openapi.json").is_file()
    assert (copy / "py.typed").is_file()


def test_vendoring_again_replaces_the_copy(tmp_path: Path) -> None:
    first = vendor(tmp_path, "acme_klaviyo")
    (first / "stale.py").write_text("")
    second = vendor(tmp_path, "acme_klaviyo")
    assert second == first and not (second / "stale.py").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acme_klaviyo"]  # no staging left


def test_vendoring_over_an_unrelated_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "acme" / "mine.txt").parent.mkdir()
    (tmp_path / "acme" / "mine.txt").write_text("keep me")
    with pytest.raises(VendorError, match="is not a vendored copy"):
        vendor(tmp_path, "acme")
    assert (tmp_path / "acme" / "mine.txt").read_text() == "keep me"


@pytest.mark.parametrize("name", ["acme-klaviyo", "class", "1pkg", ""])
def test_the_name_must_be_importable(tmp_path: Path, name: str) -> None:
    with pytest.raises(VendorError, match="not a valid Python package name"):
        vendor(tmp_path, name)
