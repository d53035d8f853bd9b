"""``make update-spec``: a new spec from Klaviyo in, regenerated code and a change report out.

Every test works on a copy of the checkout in a temporary folder (``openapi/``, ``overlays/``,
``codegen/``, ``pyproject.toml``), never on the real one. The update that regenerates runs once
per module, through the same command the Makefile and the scheduled workflow run.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from codegen import report
from codegen.generate import RAW_STABLE
from codegen.spec import Spec, load_raw, operations
from codegen.update import UpdateError, campaigns_only, update_spec
from klaviyo_campaigns import REVISIONS

ROOT = Path(__file__).resolve().parent.parent
STABLE = load_raw(RAW_STABLE)
#: A stable revision a year before the committed one.
OLDER = f"{int(REVISIONS.stable[:4]) - 1}{REVISIONS.stable[4:]}"
#: A stable revision a year after it.
LATER = f"{int(REVISIONS.stable[:4]) + 1}{REVISIONS.stable[4:]}"


PUBLISHED_PRE = ROOT.parent / "shared" / "spec" / "published"


def make_checkout(dest: Path) -> Path:
    """A copy of everything ``codegen`` reads and writes, in ``dest``."""
    ignore = shutil.ignore_patterns("__pycache__", "CHANGES.md")
    for folder in ("openapi", "overlays", "codegen"):
        shutil.copytree(ROOT / folder, dest / folder, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    (dest / "klaviyo_campaigns").mkdir()
    return dest


def write_spec(path: Path, spec: Spec) -> Path:
    path.write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return path


def changed_spec() -> Spec:
    """The stable spec with the kinds of change a new Klaviyo spec brings."""
    spec = copy.deepcopy(STABLE)
    schemas = spec["components"]["schemas"]
    # a schema added where only stable operations use it (Klaviyo's June `PushOnOpenWebUrl`):
    # the .pre revision replaces those operations, so it must drop the schema by itself
    schemas["PushOnOpenWebUrl"] = {
        "type": "object",
        "properties": {"type": {"type": "string", "enum": ["web_url"]}, "url": {"type": "string"}},
        "required": ["type"],
    }
    on_open = schemas["MobilePushOptions"]["properties"]["on_open"]["oneOf"]
    on_open.append({"$ref": "#/components/schemas/PushOnOpenWebUrl"})
    # an operation removed (one the .pre revision keeps from stable, so both revisions lose it)
    del spec["paths"]["/api/campaign-recipient-estimations/{id}"]
    # an enum value added
    send_job = schemas["CampaignSendJobResponseObjectResource"]["properties"]["attributes"]
    send_job["properties"]["status"]["enum"].append("paused")
    # a rate limit changed
    spec["paths"]["/api/campaigns/{id}/tags"]["get"]["x-klaviyo-ratelimit"]["burst"] = "5/s"
    # a field renamed inside a shared schema (used directly and inside `included` unions)
    template = schemas["TemplateResponseObjectResource"]["properties"]["attributes"]
    template["properties"]["editor"] = template["properties"].pop("editor_type")
    template["required"] = ["editor" if r == "editor_type" else r for r in template["required"]]
    return spec


def run_update(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m codegen.update`` as the Makefile runs it, in the checkout at ``root``."""
    return subprocess.run(
        [sys.executable, "-m", "codegen.update", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def updated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """A checkout updated to ``changed_spec()``: (root, the new spec file, the report)."""
    root = make_checkout(tmp_path_factory.mktemp("checkout"))
    new = write_spec(tmp_path_factory.mktemp("download") / "stable.json", changed_spec())
    proc = run_update(root, "--spec", str(new))
    assert proc.returncode == 0, proc.stderr
    return root, new, (root / "openapi" / "CHANGES.md").read_text(encoding="utf-8")


def section(report_text: str, revision: str) -> str:
    """The part of the report about one revision."""
    parts = re.split(r"^## ", report_text, flags=re.MULTILINE)
    return next(p for p in parts if p.startswith(f"{revision}\n"))


def operation_block(revision_text: str, operation_id: str) -> str:
    match = re.search(rf"^#### `{operation_id}`.*?(?=^#|\Z)", revision_text, re.M | re.S)
    assert match, f"{operation_id} is not among the changed operations"
    return match.group(0)


# -- the report --------------------------------------------------------------------------------


@pytest.mark.parametrize("revision", REVISIONS)
def test_report_lists_the_removed_operation(updated: tuple[Path, Path, str], revision: str) -> None:
    text = section(updated[2], revision)
    assert "### Removed\n\n- `get_campaign_recipient_estimation`: GET " in text
    assert "/api/campaign-recipient-estimations/{id}" in text
    assert "0 added, 1 removed" in text


@pytest.mark.parametrize("revision", REVISIONS)
def test_report_lists_the_added_enum_value(updated: tuple[Path, Path, str], revision: str) -> None:
    block = operation_block(section(updated[2], revision), "get_campaign_send_job")
    assert "- response 200 `data.attributes.status`: enum + `paused`" in block


@pytest.mark.parametrize("revision", REVISIONS)
def test_report_lists_the_rate_limit_change(updated: tuple[Path, Path, str], revision: str) -> None:
    block = operation_block(section(updated[2], revision), "get_tags_for_campaign")
    assert "- rate limit `burst`: `3/s` → `5/s`" in block


def test_a_field_renamed_in_a_shared_schema_shows_under_every_operation_using_it(
    updated: tuple[Path, Path, str],
) -> None:
    stable = section(updated[2], REVISIONS.stable)
    direct = operation_block(stable, "get_template_for_campaign_message")
    assert "- response 200 `data.attributes.editor_type`: renamed to `editor`" in direct
    for op in ("get_campaign_message", "get_messages_for_campaign"):  # include=template
        block = operation_block(stable, op)
        assert (
            "`included[]<TemplateResponseObjectResource>.attributes.editor_type`: "
            "renamed to `editor`" in block
        )
    # .pre replaced those two operations with its own; only the template one is left
    pre = section(updated[2], REVISIONS.pre)
    assert "renamed to `editor`" in operation_block(pre, "get_template_for_campaign_message")
    assert "#### `get_campaign_message`" not in pre


def test_report_names_its_inputs(updated: tuple[Path, Path, str]) -> None:
    _, new, text = updated
    assert f"(from `{new.name}`)" in text
    assert "overlays (`overlays/*.yaml`, sha256 `" in text


# -- what the update writes --------------------------------------------------------------------


def test_the_new_raw_spec_is_copied_byte_for_byte(updated: tuple[Path, Path, str]) -> None:
    root, new, _ = updated
    assert (root / "openapi" / "stable.raw.json").read_bytes() == new.read_bytes()


def test_both_revisions_are_regenerated(updated: tuple[Path, Path, str]) -> None:
    root = updated[0]
    table = (root / "klaviyo_campaigns" / "_generated" / "operations.py").read_text()
    assert "'get_campaign_recipient_estimation'" not in table
    tags = re.findall(r'"get_tags_for_campaign": Operation\(.*?burst=(\d+)', table, re.S)
    assert tags == ["5", "5"]  # stable and .pre
    for package in ("stable", "pre"):
        models = root / "klaviyo_campaigns" / "_generated" / package / "models"
        status = models / "campaign_send_job_attributes_status.py"
        assert 'PAUSED = "paused"' in status.read_text()
        template = (models / "template_attributes.py").read_text()
        assert "    editor: str" in template
        assert "    editor_type:" not in template


def test_a_schema_only_replaced_stable_operations_use_is_left_out_of_pre(
    updated: tuple[Path, Path, str],
) -> None:
    root = updated[0]
    stable = json.loads((root / "openapi" / "stable.json").read_text())
    pre = json.loads((root / "openapi" / "pre.json").read_text())
    assert "PushOnOpenWebUrl" in stable["components"]["schemas"]
    assert "PushOnOpenWebUrl" not in pre["components"]["schemas"]
    models = root / "klaviyo_campaigns" / "_generated"
    assert (models / "stable" / "models" / "push_on_open_web_url.py").is_file()
    assert not (models / "pre" / "models" / "push_on_open_web_url.py").exists()


def test_an_update_to_what_is_already_there_changes_nothing(
    updated: tuple[Path, Path, str],
) -> None:
    root, new, text = updated
    proc = run_update(root, "--spec", str(new))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("no change:")
    # the normalized specs written by the regeneration are exactly what the update derives
    assert (root / "openapi" / "CHANGES.md").read_text(encoding="utf-8") == text


# -- failure modes: each names the problem and leaves the checkout as it was --------------------


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in (root / "openapi").iterdir()}


def test_an_overlay_whose_target_is_gone_fails_naming_the_action(tmp_path: Path) -> None:
    root = make_checkout(tmp_path / "checkout")
    before = snapshot(root)
    pre = published_pre()
    # the overlays replace this free string with the overview's values: its removal breaks them
    del pre["components"]["schemas"]["SendSettings"]["properties"]["send_strategy"]
    beta = write_spec(tmp_path / "beta.json", pre)
    with pytest.raises(UpdateError) as caught:
        update_spec(pre_spec_path=beta, root=root)
    message = str(caught.value)
    assert f"overlays/ no longer apply to {beta}" in message
    assert "20-overview-fields.yaml" in message
    assert "action 1" in message
    assert "drop the free-string send_strategy" in message
    assert "target matches nothing" in message
    assert "nothing was written" in message
    assert snapshot(root) == before


def test_a_download_that_is_not_json_fails_clearly(tmp_path: Path) -> None:
    root = make_checkout(tmp_path / "checkout")
    before = snapshot(root)
    page = tmp_path / "stable.json"
    page.write_text("<!DOCTYPE html>\n<html><title>404: Not Found</title></html>\n")
    proc = run_update(root, "--spec", str(page))
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"update-spec: {page}: not JSON (Expecting value at line 1")
    assert "it starts with '<!DOCTYPE html> <html><title>404" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (REVISIONS.pre, "a .pre revision: pass it as PRE_SPEC"),
        (OLDER, f"is revision {OLDER}, older than the {REVISIONS.stable} this checkout generates"),
        ("latest", "info.version is 'latest', not a stable revision (YYYY-MM-DD)"),
    ],
)
def test_a_spec_of_another_revision_is_refused(tmp_path: Path, version: str, expected: str) -> None:
    root = make_checkout(tmp_path / "checkout")
    spec = copy.deepcopy(STABLE)
    spec["info"]["version"] = version
    with pytest.raises(UpdateError, match=re.escape(expected)):
        update_spec(write_spec(tmp_path / "new.json", spec), root=root)


def test_a_dangling_ref_fails_in_one_line_and_writes_nothing(tmp_path: Path) -> None:
    root = make_checkout(tmp_path / "checkout")
    before = snapshot(root)
    spec = copy.deepcopy(STABLE)
    ok = get_campaigns(spec)["responses"]["200"]["content"]["application/vnd.api+json"]
    ok["schema"] = {"$ref": "#/components/schemas/NoSuchDocument"}
    proc = run_update(root, "--spec", str(write_spec(tmp_path / "new.json", spec)))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr  # one line
    assert proc.stderr.startswith("update-spec: ")
    assert (
        "$ref '#/components/schemas/NoSuchDocument' at /paths/~1api~1campaigns/get/responses/200/"
        in proc.stderr
    )
    assert "points at nothing; nothing was written" in proc.stderr
    assert snapshot(root) == before


def test_a_dangling_ref_in_the_whole_published_spec_fails_in_one_line(tmp_path: Path) -> None:
    root = make_checkout(tmp_path / "checkout")
    before = snapshot(root)
    spec = whole_api()
    spec["components"]["schemas"]["CampaignEnum"] = {"$ref": "#/components/schemas/Gone"}
    del spec["components"]["schemas"]["ObjectLinks"]
    proc = run_update(root, "--spec", str(write_spec(tmp_path / "new.json", spec)))
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "points at nothing" in proc.stderr and "Traceback" not in proc.stderr
    assert snapshot(root) == before


def test_make_generate_on_a_dangling_ref_fails_in_one_line(tmp_path: Path) -> None:
    root = make_checkout(tmp_path / "checkout")
    spec = copy.deepcopy(STABLE)
    get_campaigns(spec)["parameters"][0] = {"$ref": "#/components/parameters/Gone"}
    write_spec(root / "openapi" / "stable.raw.json", spec)
    before = snapshot(root)
    proc = subprocess.run(
        [sys.executable, "-m", "codegen", "generate"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr == (
        "codegen: openapi/stable.raw.json: $ref '#/components/parameters/Gone' at "
        "/paths/~1api~1campaigns/get/parameters/0 points at nothing\n"
    )
    assert snapshot(root) == before
    assert not (root / "klaviyo_campaigns" / "_generated").exists()


def test_a_spec_shape_no_check_foresaw_still_fails_in_one_line(tmp_path: Path) -> None:
    root = make_checkout(tmp_path / "checkout")
    before = snapshot(root)
    spec = copy.deepcopy(STABLE)
    get_campaigns(spec)["parameters"] = "not a list"
    proc = run_update(root, "--spec", str(write_spec(tmp_path / "new.json", spec)))
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "cannot take this spec" in proc.stderr or "no longer" in proc.stderr, proc.stderr
    assert "nothing was written" in proc.stderr and "Traceback" not in proc.stderr
    assert snapshot(root) == before


def test_json_that_is_not_an_openapi_document_is_refused(tmp_path: Path) -> None:
    root = make_checkout(tmp_path / "checkout")
    with pytest.raises(UpdateError, match="not an OpenAPI document"):
        update_spec(write_spec(tmp_path / "new.json", {"errors": []}), root=root)  # type: ignore[arg-type]


def test_a_malformed_rate_limit_fails_before_anything_is_written(tmp_path: Path) -> None:
    root = make_checkout(tmp_path / "checkout")
    before = snapshot(root)
    spec = copy.deepcopy(STABLE)
    spec["paths"]["/api/campaigns/{id}/tags"]["get"]["x-klaviyo-ratelimit"] = {"burst": "3/h"}
    with pytest.raises(UpdateError, match=r"get_tags_for_campaign: x-klaviyo-ratelimit"):
        update_spec(write_spec(tmp_path / "new.json", spec), root=root)
    assert snapshot(root) == before


# -- Klaviyo's whole published spec is cut down to the Campaigns API ---------------------------


def whole_api() -> Spec:
    """The stable spec inside a bigger one, the way Klaviyo publishes every API in one file."""
    spec = copy.deepcopy(STABLE)
    spec["tags"].append({"name": "Profiles", "description": "profiles"})
    spec["paths"]["/api/profiles"] = {
        "get": {
            "operationId": "get_profiles",
            "tags": ["Profiles"],
            "responses": {
                "200": {"$ref": "#/components/responses/ProfilesOnly"},
                "400": {"$ref": "#/components/responses/ClientError"},
            },
        }
    }
    spec["components"]["responses"]["ProfilesOnly"] = {
        "description": "ok",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Profile"}}},
    }
    spec["components"]["schemas"]["Profile"] = {
        "type": "object",
        "properties": {"links": {"$ref": "#/components/schemas/ObjectLinks"}},
    }
    return spec


def test_the_whole_published_spec_is_cut_to_what_the_seed_was_cut_to() -> None:
    cut = campaigns_only(whole_api())
    assert cut == STABLE
    assert list(cut) == list(STABLE)  # the published key order is kept


def test_a_campaigns_only_spec_is_taken_as_is() -> None:
    assert campaigns_only(STABLE) is None


# -- the report on its own (no generation) -----------------------------------------------------


def op_lines(old: Spec, new: Spec, op_id: str) -> list[str]:
    changes = report.compare("r", old, new)
    return next(lines for op, lines in changes.changed if op.id == op_id)


def get_campaigns(spec: Spec) -> dict[str, Any]:
    operation: dict[str, Any] = spec["paths"]["/api/campaigns"]["get"]
    return operation


def test_filters_parameters_and_request_fields_are_compared() -> None:
    new = copy.deepcopy(STABLE)
    filters = get_campaigns(new)["x-klaviyo-filters"]
    filters["name"]["operators"]["single"].append("ends-with")
    del filters["id"]
    params = get_campaigns(new)["parameters"]
    param = next(p for p in params if p["name"] == "fields[campaign]")
    param["schema"]["items"]["enum"].remove("name")
    attributes = new["components"]["schemas"]["CampaignCreateQueryResourceObject"]["properties"][
        "attributes"
    ]
    attributes["properties"]["color"] = {"type": "string"}
    attributes["required"].append("color")

    listing = op_lines(STABLE, new, "get_campaigns")
    assert "filters `name`: operators + `ends-with`" in listing
    assert "filters `id`: removed" in listing
    assert "parameter query `fields[campaign]` `[]`: enum - `name`" in listing
    assert "request body `data.attributes.color`: added (type `string`, required)" in (
        op_lines(STABLE, new, "create_campaign")
    )


def test_operations_added_and_moved() -> None:
    new = copy.deepcopy(STABLE)
    new["paths"]["/api/campaign-tags"] = {"get": get_campaigns(new)}
    del new["paths"]["/api/campaigns"]["get"]
    changes = report.compare("r", STABLE, new)
    assert [
        line for op, lines in changes.changed for line in lines if op.id == "get_campaigns"
    ] == ["moved: GET /api/campaigns → GET /api/campaign-tags"]
    renamed = copy.deepcopy(new)
    renamed["paths"]["/api/campaign-tags"]["get"] = dict(
        get_campaigns(STABLE), operationId="get_campaign_tags"
    )
    changes = report.compare("r", new, renamed)
    assert changes.added == changes.removed == []
    assert [(old.id, op.id) for old, op, _ in changes.renamed] == [
        ("get_campaigns", "get_campaign_tags")
    ]
    text = report.render([changes], [])
    assert "Operations: 0 added, 0 removed, 1 renamed, 0 changed" in text
    assert (
        "### Renamed\n\n- `get_campaigns` → `get_campaign_tags`: GET /api/campaign-tags\n" in text
    )


def test_no_change_says_so() -> None:
    text = report.render([report.compare(REVISIONS.stable, STABLE, STABLE)], [])
    assert (
        "Operations: 0 added, 0 removed, 0 renamed, 0 changed, 26 unchanged.\n\n"
        "No operation changed." in text
    )
    assert f"Revision header: `{REVISIONS.stable}`, unchanged." in text


def test_the_revision_header_is_reported_once_per_namespace_not_per_operation() -> None:
    new = copy.deepcopy(STABLE)
    new["info"]["version"] = LATER
    for _, _, op in operations(new):
        for param in op["parameters"]:
            if param["name"] == "revision":
                param["schema"]["default"] = LATER
    changes = report.compare(LATER, STABLE, new, namespace="kl.stable")
    text = report.render([changes], [])
    assert f"Revision header (what `kl.stable` sends): `{REVISIONS.stable}` → `{LATER}`." in text
    assert changes.empty and "revision" not in "".join(
        line for _, lines in changes.changed for line in lines
    )


def test_an_added_object_field_is_listed_with_its_nested_fields() -> None:
    new = copy.deepcopy(STABLE)
    resource = new["components"]["schemas"]["CampaignResponseObjectResource"]
    resource["properties"]["meta"] = {
        "type": "object",
        "properties": {
            "counts": {
                "type": "object",
                "properties": {"messages": {"type": "integer"}},
                "required": ["messages"],
            },
            "origin": {"type": "string", "enum": ["api", "ui"]},
        },
    }
    lines = op_lines(STABLE, new, "get_campaign")
    assert "response 200 `data.meta`: added (type `object`)" in lines
    assert "response 200 `data.meta.counts`: added (type `object`)" in lines
    assert "response 200 `data.meta.counts.messages`: added (type `integer`, required)" in lines
    assert "response 200 `data.meta.origin`: added (type `string`, enum `api, ui`)" in lines


# -- the workflows run the same make targets these tests exercise ------------------------------


def test_workflow_steps_are_make_targets_of_the_makefile() -> None:
    targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))
    steps: dict[str, list[str]] = {}
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        workflow = YAML(typ="safe", pure=True).load(path.read_text())
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                steps.setdefault(path.name, []).extend(
                    re.findall(r"\bmake ([a-z][\w-]*)", step.get("run", ""))
                )
    assert steps["update-spec.yml"].count("update-spec") == 1
    assert "install" in steps["update-spec.yml"]
    used = {target for names in steps.values() for target in names}
    assert used <= targets, f"workflow make targets missing from the Makefile: {used - targets}"
    assert "bash .ci/run" in (ROOT / ".github" / "workflows" / "ci.yml").read_text()


def test_the_weekly_update_fetches_its_revision_branch_and_runs_every_check_itself() -> None:
    text = (ROOT / ".github" / "workflows" / "update-spec.yml").read_text()
    workflow = YAML(typ="safe", pure=True).load(text)
    runs = [step.get("run", "") for step in workflow["jobs"]["update-spec"]["steps"]]
    fetch = next(run for run in runs if "curl" in run)
    # the branch named by the committed revision, not main (main only tells of a newer one)
    assert '"$SPEC_BASE/$current/openapi/stable.json"' in fetch
    assert '"$SPEC_BASE/$current_pre/openapi/beta.json"' in fetch
    assert "version openapi/stable.raw.json" in fetch and "version openapi/pre.raw.json" in fetch
    assert any('PRE_SPEC="$RUNNER_TEMP/beta.json"' in run for run in runs)
    # a pull request opened with GITHUB_TOKEN triggers no workflow: the job checks it itself
    for target in ("make update-spec", "make check-generated", "make lint", "make docs"):
        assert any(run.startswith(target) for run in runs), target
    assert "Allow GitHub Actions to create and approve pull requests" in text
    readme = (ROOT / "README.md").read_text()
    assert "Allow GitHub Actions to create and approve pull requests" in readme


# -- a revision bump of both namespaces, as in the "done means" -------------------------


def published_pre() -> Spec:
    """Klaviyo's published .pre spec, as committed (its Campaigns cut)."""
    return load_raw(ROOT / "openapi" / "pre.raw.json")


#: A response field the bump adds (a name Klaviyo does not use).
ADDED = "sdk_test_added_field"


@pytest.fixture(scope="module")
def bumped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A checkout updated to a later stable (one response field added) and a later .pre."""
    root = make_checkout(tmp_path_factory.mktemp("bump"))
    stable = copy.deepcopy(STABLE)
    stable["info"]["version"] = LATER
    attributes = stable["components"]["schemas"]["CampaignResponseObjectResource"]["properties"][
        "attributes"
    ]
    assert ADDED not in attributes["properties"]
    attributes["properties"][ADDED] = {"type": "integer", "nullable": True}
    pre = published_pre()
    pre["info"]["version"] = f"{LATER}.pre"
    pre["paths"]["/api/campaigns/{id}"]["get"]["x-klaviyo-ratelimit"]["burst"] = "3/s"
    download = tmp_path_factory.mktemp("download")
    proc = run_update(
        root,
        "--spec", str(write_spec(download / "stable.json", stable)),
        "--pre-spec", str(write_spec(download / "beta.json", pre)),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return root, (root / "openapi" / "CHANGES.md").read_text(encoding="utf-8")


def test_a_bump_changes_what_both_namespaces_send(bumped: tuple[Path, str]) -> None:
    root = bumped[0]
    table = (root / "klaviyo_campaigns" / "_generated" / "operations.py").read_text()
    assert f'STABLE_REVISION = "{LATER}"' in table
    assert f'PRE_REVISION = "{LATER}.pre"' in table
    assert table.count(f'revision="{LATER}.pre"') == 63
    for package, revision in (("stable", LATER), ("pre", f"{LATER}.pre")):
        spec = json.loads(
            (root / "klaviyo_campaigns" / "_generated" / package / "openapi.json").read_text()
        )
        assert spec["info"]["version"] == revision


def test_a_bump_reports_both_header_changes_and_the_added_field(bumped: tuple[Path, str]) -> None:
    text = bumped[1]
    stable = section(text, LATER)
    assert f"Revision header (what `kl.stable` sends): `{REVISIONS.stable}` → `{LATER}`." in stable
    block = operation_block(stable, "get_campaign")
    assert f"- response 200 `data.attributes.{ADDED}`: added (type `integer`, nullable)" in block
    pre = section(text, f"{LATER}.pre")
    assert f"Revision header (what `kl.pre` sends): `{REVISIONS.pre}` → `{LATER}.pre`." in pre
    assert "revision" not in "".join(re.findall(r"^- .*$", pre, re.M))  # no header-param noise


def test_what_klaviyo_changed_in_its_pre_spec_is_in_kl_pre_and_reported(
    bumped: tuple[Path, str],
) -> None:
    text = bumped[1]
    published = text[text.index(f"## Klaviyo's published `{LATER}.pre`") :]
    assert "generated from this file, so these changes are in it" in published
    block = operation_block(published, "get_campaign_beta")
    assert "- rate limit `burst`: `10/s` → `3/s`" in block
    assert f"`{REVISIONS.pre}` → `{LATER}.pre`" in published
    # no overlay edit: the new limit is what kl.pre is generated with
    pre = section(text, f"{LATER}.pre")
    assert "- rate limit `burst`: `10/s` → `3/s`" in operation_block(pre, "get_campaign_beta")
    table = (bumped[0] / "klaviyo_campaigns" / "_generated" / "operations.py").read_text()
    assert re.findall(r'"get_campaign_beta": Operation\([^)]*?burst=(\d+)', table) == ["3"]


def test_a_bumped_checkout_is_in_sync_and_a_second_update_is_a_no_op(
    bumped: tuple[Path, str],
) -> None:
    root = bumped[0]
    check = subprocess.run(
        [sys.executable, "-m", "codegen", "check"], cwd=root, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    proc = run_update(root)
    assert proc.returncode == 0 and proc.stdout.startswith("no change:"), proc.stderr


def test_the_committed_inputs_are_a_no_op(tmp_path: Path) -> None:
    root = make_checkout(tmp_path / "checkout")
    before = snapshot(root)
    args = ["--spec", str(ROOT / "openapi" / "stable.raw.json")]
    # Klaviyo's whole published beta.json, beside the repository, when it is the committed one
    for published in sorted(PUBLISHED_PRE.glob("beta-*.pre.json")):
        if load_raw(published)["info"]["version"] == REVISIONS.pre:
            args += ["--pre-spec", str(published)]
    proc = run_update(root, *args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("no change:")
    assert snapshot(root) == before


def test_a_pre_spec_that_is_not_a_pre_revision_is_refused_in_one_line(tmp_path: Path) -> None:
    root = make_checkout(tmp_path / "checkout")
    before = snapshot(root)
    proc = run_update(root, "--pre-spec", str(ROOT / "openapi" / "stable.raw.json"))
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert f"info.version is '{REVISIONS.stable}', not a .pre revision" in proc.stderr
    assert snapshot(root) == before
