"""Take new specs from Klaviyo: ``python -m codegen.update [--spec PATH] [--pre-spec PATH]``.

1. reads the new stable spec and checks it is a stable revision (``info.version``, a date no
   older than the committed one); Klaviyo's whole published spec is cut to its ``Campaigns``
   operations (:func:`campaigns_only`);
2. reads Klaviyo's published ``.pre`` spec (``beta.json``) if given, checks it is a ``.pre``
   revision, and cuts it to the operations under campaign paths (:func:`campaigns_by_path`): the
   ``.pre`` revision is generated from it (``codegen/pre.py``), and its ``info.version`` is the
   revision ``kl.pre`` sends;
3. checks every ``$ref``, builds the ``.pre`` spec (the published one, the stable operations it
   does not define, ``overlays/``), applies the fix-ups and the rate-limit parsing, and computes
   the change report, all in memory: a spec it cannot take fails with one line naming it, before
   anything is written;
4. writes the raw inputs (``openapi/stable.raw.json``, ``openapi/pre.raw.json``), regenerates both
   revisions (``python -m codegen generate`` in the same checkout; if that fails, the previous
   inputs are put back), and writes the report (default ``openapi/CHANGES.md``).

Without ``--spec`` / ``--pre-spec`` it regenerates from the committed inputs and compares with
the committed normalized specs: after editing ``overlays/``, it reports what the edit changes.
``make update-spec`` runs this and then the tests. The report is left alone when nothing
changed, so a scheduled run that finds no new spec leaves the tree clean.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import fixups, optable, report
from .generate import derive_pre
from .overlay import OverlayError
from .spec import Spec, dangling_refs, dumps, operations, referenced

ROOT = Path(__file__).resolve().parent.parent

#: The tag of the operations this SDK generates, out of Klaviyo's whole API.
TAG = "Campaigns"

#: Where Klaviyo publishes its stable spec (the scheduled workflow's default ``SPEC_URL``).
PUBLISHED_SPEC_URL = "https://raw.githubusercontent.com/klaviyo/openapi/main/openapi/stable.json"


class UpdateError(Exception):
    """The new spec cannot be taken: the message says why and what to do."""


def read_spec(path: Path) -> Spec:
    """Parse a raw spec as Klaviyo publishes it (raw control characters allowed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UpdateError(f"{path}: cannot read the spec: {exc}") from exc
    try:
        document = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        start = " ".join(text[:60].split())
        raise UpdateError(
            f"{path}: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            f"it starts with {start!r}. Expected Klaviyo's OpenAPI spec as published, "
            f"e.g. {PUBLISHED_SPEC_URL}"
        ) from exc
    if not isinstance(document, dict) or "openapi" not in document or "paths" not in document:
        raise UpdateError(f"{path}: JSON, but not an OpenAPI document (no 'openapi'/'paths')")
    return document


#: A stable revision as Klaviyo names them (a date); ``.pre`` revisions add a suffix.
_STABLE_REVISION = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def revision_of(spec: Spec) -> str:
    """The revision a spec describes: its ``info.version`` (the client sends exactly this)."""
    return str(spec.get("info", {}).get("version"))


def check_revision(path: Path, spec: Spec, current: str | None) -> None:
    """Refuse a spec that is not a stable revision, or older than the one in the checkout.

    A newer revision is taken like a same-revision update: the revision is data (the specs'
    ``info.version``), so nothing else in the checkout names it.
    """
    revision = revision_of(spec)
    if revision.endswith(".pre"):
        raise UpdateError(
            f"{path} is revision {revision}, a .pre revision: pass it as PRE_SPEC "
            "(make update-spec PRE_SPEC=...); nothing was written"
        )
    if not _STABLE_REVISION.match(revision):
        raise UpdateError(
            f"{path}: info.version is {revision!r}, not a stable revision (YYYY-MM-DD)"
        )
    if current is not None and revision < current:
        raise UpdateError(
            f"{path} is revision {revision}, older than the {current} this checkout generates; "
            "nothing was written"
        )


def check_pre_revision(path: Path, spec: Spec, current: str | None) -> None:
    """Refuse a ``PRE_SPEC`` that is not a ``.pre`` revision, or older than the committed one."""
    revision = revision_of(spec)
    date = revision.removesuffix(".pre")
    if not revision.endswith(".pre") or not _STABLE_REVISION.match(date):
        raise UpdateError(
            f"{path}: info.version is {revision!r}, not a .pre revision (YYYY-MM-DD.pre); "
            "nothing was written"
        )
    if current is not None and revision < current:
        raise UpdateError(
            f"{path} is revision {revision}, older than the {current} this checkout generates; "
            "nothing was written"
        )


def campaigns_only(spec: Spec) -> Spec | None:
    """The Campaigns API out of Klaviyo's whole published spec; ``None`` if that is all it holds.

    Klaviyo publishes one spec for every API. The SDK generates the operations tagged
    ``Campaigns`` and the components they reference (transitively), which is how
    ``openapi/stable.raw.json`` was cut: the same cut of the same spec gives the same document.
    """
    tagged = [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    ]
    if all(op.get("tags") == [TAG] for _, _, op in tagged):
        return None
    cut = _cut(spec, lambda path, op: TAG in op.get("tags", ()))
    if cut is None:
        raise UpdateError(f"the spec has no operation tagged {TAG!r}")
    return cut


def is_campaigns_path(path: str) -> bool:
    """Whether a path belongs to the Campaigns API: one of its segments names a campaign thing.

    Klaviyo tags its ``.pre`` operations ``Beta APIs``, not ``Campaigns``, so they are found by
    path: ``/api/campaigns/{id}``, ``/api/campaign-messages``, and also
    ``/api/translations/{id}/campaign-variation``.
    """
    return any(segment.startswith("campaign") for segment in path.split("/"))


def campaigns_by_path(spec: Spec) -> Spec:
    """The Campaigns operations of Klaviyo's published ``.pre`` spec, found by path."""
    cut = _cut(spec, lambda path, op: is_campaigns_path(path))
    if cut is None:
        raise UpdateError("the spec has no operation under a campaign path")
    return cut


def _cut(spec: Spec, keep: Callable[[str, dict[str, Any]], bool]) -> Spec | None:
    """``spec`` with only the operations ``keep`` accepts and the components they reference."""
    paths: dict[str, Any] = {}
    for path, item in spec["paths"].items():
        kept = {
            key: value
            for key, value in item.items()
            if not (isinstance(value, dict) and "operationId" in value) or keep(path, value)
        }
        if any(isinstance(v, dict) and "operationId" in v for v in kept.values()):
            paths[path] = kept
    if not paths:
        return None
    cut = {key: value for key, value in spec.items() if key not in ("paths", "components")}
    cut["paths"] = paths
    if "tags" in spec:
        used_tags = {
            tag
            for item in paths.values()
            for op in item.values()
            if isinstance(op, dict)
            for tag in op.get("tags", ())
        }
        cut["tags"] = [tag for tag in spec["tags"] if tag.get("name") in used_tags]
    components = spec.get("components", {})
    used = referenced(components, paths)
    for section, name in sorted(used):
        if name not in components.get(section, {}):
            raise UpdateError(f"$ref '#/components/{section}/{name}' points at nothing")
    cut_components = {}
    for section, entries in components.items():
        if section == "securitySchemes":
            cut_components[section] = entries
        elif any(s == section for s, _ in used):
            cut_components[section] = {k: v for k, v in entries.items() if (section, k) in used}
    cut["components"] = cut_components
    # Keep the published key order everywhere: the cut is the published text, less the rest.
    return {key: cut[key] for key in spec if key in cut}


def _derive(stable: Spec, root: Path, source: str, published_pre: Spec, pre_source: str) -> Spec:
    """The ``.pre`` spec from the published one and ``stable``; fails as generation would."""
    _check_refs(stable, source)
    try:
        pre = derive_pre(stable, root / "overlays", published_pre)
    except OverlayError as exc:
        raise UpdateError(
            f"overlays/ no longer apply to {pre_source}: {exc}; fix or remove that action "
            "(the published .pre spec it was written against changed, perhaps because Klaviyo "
            "now publishes what it adds); nothing was written"
        ) from exc
    for spec in (stable, pre):
        name = revision_of(spec)
        try:
            fixups.apply_all(spec)
        except fixups.FixupError as exc:
            raise UpdateError(
                f"{name} from {source}: a codegen fix-up no longer fits: {exc} "
                "(see codegen/fixups.py); nothing was written"
            ) from exc
        for _, _, op in operations(spec):
            try:
                optable.rate_limits(op, f"{name} {op['operationId']}")
            except ValueError as exc:
                raise UpdateError(
                    f"{exc}; the client's limiter needs both; nothing was written"
                ) from exc
    _check_refs(pre, f"{pre_source} with overlays/ applied")
    return pre


def _check_refs(spec: Spec, source: str) -> None:
    dangling = dangling_refs(spec)
    if dangling:
        where, ref = dangling[0]
        more = f" (and {len(dangling) - 1} more)" if len(dangling) > 1 else ""
        raise UpdateError(
            f"{source}: $ref {ref!r} at {where} points at nothing{more}; nothing was written"
        )


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def _overlays_digest(root: Path) -> str:
    files = sorted((root / "overlays").glob("*.yaml"))
    return _digest(b"".join(p.name.encode() + b"\0" + p.read_bytes() for p in files))


def _regenerate(root: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "codegen", "generate"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        last = output.splitlines()[-1] if output else f"exit status {proc.returncode}"
        raise UpdateError(
            f"regeneration failed (python -m codegen generate): {last}; the previous spec was "
            f"put back\n{output}"
        )
    return output


@dataclass
class _Input:
    """One raw spec of the checkout: where it goes, what it held, what it will hold."""

    target: Path
    old: bytes
    new: bytes


@dataclass
class _Plan:
    """Everything an update writes, computed in memory before anything is written."""

    inputs: list[_Input]
    report: str
    unchanged: bool


def _cut_bytes(spec: Spec) -> bytes:
    return json.dumps(spec, indent=2, ensure_ascii=False).encode() + b"\n"


def _plan(spec_path: Path | None, pre_path: Path | None, root: Path) -> _Plan:
    openapi = root / "openapi"
    raw_stable, raw_pre = openapi / "stable.raw.json", openapi / "pre.raw.json"
    source = spec_path or raw_stable
    stable_in = _Input(raw_stable, _read(raw_stable), _read(source))
    pre_in = _Input(raw_pre, _read(raw_pre), _read(pre_path or raw_pre))

    new_stable = read_spec(source)
    current = revision_of(read_spec(raw_stable)) if raw_stable.exists() else None
    check_revision(source, new_stable, current)
    try:
        cut = campaigns_only(new_stable)
    except UpdateError as exc:
        raise UpdateError(f"{source}: {exc}; nothing was written") from exc
    if cut is not None:
        new_stable = cut
        stable_in.new = _cut_bytes(cut)

    old_published = read_spec(raw_pre) if raw_pre.exists() else None
    published = read_spec(pre_path or raw_pre)
    if pre_path is not None:
        current_pre = revision_of(old_published) if old_published is not None else None
        check_pre_revision(pre_path, published, current_pre)
        try:
            published = campaigns_by_path(published)
        except UpdateError as exc:
            raise UpdateError(f"{pre_path}: {exc}; nothing was written") from exc
        _check_refs(published, str(pre_path))
        pre_in.new = _cut_bytes(published)

    pre_source = str(pre_path or raw_pre)
    new = {
        "stable": new_stable,
        "pre": _derive(new_stable, root, str(source), published, pre_source),
    }
    old: dict[str, Spec | None] = {}
    for name in new:
        committed = openapi / f"{name}.json"
        old[name] = (
            json.loads(committed.read_text(encoding="utf-8")) if committed.exists() else None
        )
    unchanged = all(i.new == i.old for i in (stable_in, pre_in)) and all(
        old[name] is not None and dumps(old[name] or {}) == dumps(spec)
        for name, spec in new.items()
    )
    changes = [
        report.compare(revision_of(spec), old[name], spec, namespace=f"kl.{name}")
        for name, spec in new.items()
    ]
    if pre_in.new != pre_in.old:
        published_changes = report.compare(revision_of(published), old_published, published)
        published_changes.title = (
            f"Klaviyo's published `{revision_of(published)}` (`openapi/{raw_pre.name}`)"
        )
        published_changes.note = (
            "What Klaviyo changed in its `.pre` Campaigns operations, before `overlays/`. The "
            "`.pre` revision above is generated from this file, so these changes are in it; one "
            "listed here and not above is masked by an overlay action: check whether that action "
            "is still needed (see `overlays/README.md`)."
        )
        changes.append(published_changes)
    inputs = [
        f"stable raw spec `openapi/{raw_stable.name}`: sha256 "
        f"`{_digest(stable_in.old)}` → `{_digest(stable_in.new)}`"
        + (f" (from `{spec_path.name}`)" if spec_path is not None else "")
        + (f", its operations tagged `{TAG}`" if cut is not None else ""),
        f"published .pre spec `openapi/{raw_pre.name}`: sha256 "
        f"`{_digest(pre_in.old)}` → `{_digest(pre_in.new)}`"
        + (f" (from `{pre_path.name}`, its Campaigns paths)" if pre_path is not None else "")
        + "; `.pre` is generated from it plus the stable operations it does not define",
        f"overlays (`overlays/*.yaml`, sha256 `{_overlays_digest(root)}`) add to "
        f"`{revision_of(new['pre'])}` what the published file lacks",
    ]
    return _Plan([stable_in, pre_in], report.render(changes, inputs), unchanged)


def _read(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


def update_spec(
    spec_path: Path | None = None,
    *,
    pre_spec_path: Path | None = None,
    root: Path = ROOT,
    report_path: Path | None = None,
) -> str | None:
    """Take ``spec_path`` (stable) and ``pre_spec_path`` (``.pre``) into the checkout at ``root``.

    Regenerates and writes the change report. Returns the report text, or ``None`` when nothing
    changed (then nothing is written). Raises :class:`UpdateError`, leaving the checkout as it
    was, when a spec cannot be taken: every check, the cuts, the overlays, the fix-ups and the
    report run in memory before the first write, and anything they trip over becomes one line
    naming the spec.
    """
    source = spec_path or root / "openapi" / "stable.raw.json"
    try:
        plan = _plan(spec_path, pre_spec_path, root)
    except UpdateError:
        raise
    except Exception as exc:  # a shape of spec no check foresaw: still one line, no write
        named = pre_spec_path if pre_spec_path is not None and spec_path is None else source
        raise UpdateError(
            f"{named}: cannot take this spec ({type(exc).__name__}: {exc}); nothing was written"
        ) from exc
    if plan.unchanged:
        print("no change: openapi/ and the generated code already hold these specs")
        return None

    for item in plan.inputs:
        if item.new != item.old:
            item.target.write_bytes(item.new)
    try:
        print(_regenerate(root))
    except UpdateError:
        for item in plan.inputs:
            if item.new != item.old:
                item.target.write_bytes(item.old)
        raise

    report_path = report_path or root / "openapi" / "CHANGES.md"
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(plan.report, encoding="utf-8")
    print(f"change report: {report_path}")
    return plan.report


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m codegen.update [--spec PATH] [--report PATH] [--root DIR]``."""
    parser = argparse.ArgumentParser(
        prog="python -m codegen.update",
        description="Take a new raw spec from Klaviyo, regenerate, report what changed.",
    )
    parser.add_argument(
        "--spec", type=Path, help="the new stable spec (default: the committed one)"
    )
    parser.add_argument(
        "--pre-spec", type=Path, help="Klaviyo's new published .pre spec (beta.json)"
    )
    parser.add_argument("--report", type=Path, help="where to write the Markdown change report")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to update")
    args = parser.parse_args(argv)
    try:
        update_spec(
            args.spec,
            pre_spec_path=args.pre_spec,
            root=args.root.resolve(),
            report_path=args.report,
        )
    except UpdateError as exc:
        print(f"update-spec: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
