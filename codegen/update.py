"""Take a new spec from Klaviyo: ``python -m codegen.update --spec PATH [--report PATH]``.

1. reads the new raw spec and checks it is Klaviyo's stable revision (``info.version``);
   Klaviyo's whole published spec is cut to its ``Campaigns`` operations (:func:`campaigns_only`);
2. applies ``overlays/``, the fix-ups and the rate-limit parsing to it, so an overlay action whose
   target is gone fails here, naming its file, index and description, before anything is written;
3. copies the file, byte for byte (or the cut, as JSON), to ``openapi/klaviyo-<revision>.raw.json``;
4. regenerates both revisions (``python -m codegen generate`` in the same checkout); if that
   fails, the previous raw file is put back;
5. writes the change report (default ``openapi/CHANGES.md``): operations added, removed and
   changed in each revision, old normalized spec against new.

Without ``--spec`` it regenerates from the committed raw spec and compares with the committed
normalized specs: after editing ``overlays/`` (Klaviyo changed the ``.pre`` spec), run it before
``make generate`` to get the report of what the edit changes. ``make update-spec`` runs this
and then the tests. The report is left alone when nothing changed, so a scheduled run that finds
no new spec leaves the tree clean.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import fixups, optable, report
from .generate import derive_pre
from .overlay import OverlayError
from .spec import Spec, dangling_refs, dumps, operations

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
            f"{path} is revision {revision}: the .pre revision is built from the stable spec by "
            "overlays/, not copied. Carry what changed into overlays/*.yaml (see "
            "overlays/README.md), then run `make update-spec` without SPEC for the report."
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


def campaigns_only(spec: Spec) -> Spec | None:
    """The Campaigns API out of Klaviyo's whole published spec; ``None`` if that is all it holds.

    Klaviyo publishes one spec for every API. The SDK generates the operations tagged
    ``Campaigns`` and the components they reference (transitively), which is how
    ``openapi/klaviyo-<revision>.raw.json`` was cut: the same cut of the same spec gives the
    same document.
    """
    tagged = [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    ]
    if all(op.get("tags") == [TAG] for _, _, op in tagged):
        return None
    paths: dict[str, Any] = {}
    for path, item in spec["paths"].items():
        kept = {
            key: value
            for key, value in item.items()
            if not (isinstance(value, dict) and "operationId" in value)
            or TAG in value.get("tags", ())
        }
        if any(isinstance(v, dict) and "operationId" in v for v in kept.values()):
            paths[path] = kept
    if not paths:
        raise UpdateError(f"the spec has no operation tagged {TAG!r}")
    cut = {key: value for key, value in spec.items() if key not in ("paths", "components")}
    cut["paths"] = paths
    if "tags" in spec:
        cut["tags"] = [tag for tag in spec["tags"] if tag.get("name") == TAG]
    components = spec.get("components", {})
    used = _referenced_components(components, paths)
    cut_components = {}
    for section, entries in components.items():
        if section == "securitySchemes":
            cut_components[section] = entries
        elif any(s == section for s, _ in used):
            cut_components[section] = {k: v for k, v in entries.items() if (section, k) in used}
    cut["components"] = cut_components
    # Keep the published key order everywhere: the cut is the published text, less the rest.
    return {key: cut[key] for key in spec if key in cut}


def _referenced_components(components: dict[str, Any], root: Any) -> set[tuple[str, str]]:
    seen: set[tuple[str, str]] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/"):
                section, _, name = ref[len("#/components/") :].partition("/")
                if (section, name) not in seen:
                    target = components.get(section, {}).get(name)
                    if target is None:
                        raise UpdateError(f"$ref {ref!r} points at nothing")
                    seen.add((section, name))
                    stack.append(target)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return seen


def _derive(stable: Spec, root: Path, source: str) -> Spec:
    """The ``.pre`` spec from ``stable``; fails the way generation would, before any write."""
    _check_refs(stable, source)
    try:
        pre = derive_pre(stable, root / "overlays")
    except OverlayError as exc:
        raise UpdateError(
            f"overlays/ no longer apply to {source}: {exc}; fix or remove that action "
            "(the spec it was written against changed); nothing was written"
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
    _check_refs(pre, f"{source} with overlays/ applied")
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
class _Plan:
    """Everything an update writes, computed in memory before anything is written."""

    raw_target: Path
    old_bytes: bytes
    new_bytes: bytes
    report: str
    unchanged: bool


def _plan(spec_path: Path | None, root: Path) -> _Plan:
    openapi = root / "openapi"
    raw_target = openapi / "stable.raw.json"
    source = spec_path or raw_target
    new_bytes = source.read_bytes() if source.exists() else b""
    old_bytes = raw_target.read_bytes() if raw_target.exists() else b""

    new_stable = read_spec(source)
    current = revision_of(read_spec(raw_target)) if raw_target.exists() else None
    check_revision(source, new_stable, current)
    try:
        cut = campaigns_only(new_stable)
    except UpdateError as exc:
        raise UpdateError(f"{source}: {exc}; nothing was written") from exc
    if cut is not None:
        new_stable = cut
        new_bytes = json.dumps(cut, indent=2, ensure_ascii=False).encode() + b"\n"
    new = {"stable": new_stable, "pre": _derive(new_stable, root, str(source))}
    old: dict[str, Spec | None] = {}
    for name in new:
        committed = openapi / f"{name}.json"
        old[name] = (
            json.loads(committed.read_text(encoding="utf-8")) if committed.exists() else None
        )
    unchanged = new_bytes == old_bytes and all(
        old[name] is not None and dumps(old[name] or {}) == dumps(spec)
        for name, spec in new.items()
    )
    changes = [
        report.compare(revision_of(spec), old[name], spec, namespace=f"kl.{name}")
        for name, spec in new.items()
    ]
    inputs = [
        f"stable raw spec `openapi/{raw_target.name}`: sha256 "
        f"`{_digest(old_bytes)}` → `{_digest(new_bytes)}`"
        + (f" (from `{spec_path.name}`)" if spec_path is not None else "")
        + (f", its operations tagged `{TAG}`" if cut is not None else ""),
        f"overlays (`overlays/*.yaml`, sha256 `{_overlays_digest(root)}`) build "
        f"`{revision_of(new['pre'])}` from it",
    ]
    return _Plan(raw_target, old_bytes, new_bytes, report.render(changes, inputs), unchanged)


def update_spec(
    spec_path: Path | None = None, *, root: Path = ROOT, report_path: Path | None = None
) -> str | None:
    """Take ``spec_path`` into the checkout at ``root``, regenerate, write the change report.

    Returns the report text, or ``None`` when nothing changed (then nothing is written).
    Raises :class:`UpdateError`, leaving the checkout as it was, when the spec cannot be taken:
    every check, the overlays, the fix-ups and the report run in memory before the first write,
    and anything they trip over becomes one line naming the spec.
    """
    source = spec_path or root / "openapi" / "stable.raw.json"
    try:
        plan = _plan(spec_path, root)
    except UpdateError:
        raise
    except Exception as exc:  # a shape of spec no check foresaw: still one line, no write
        raise UpdateError(
            f"{source}: cannot take this spec ({type(exc).__name__}: {exc}); nothing was written"
        ) from exc
    if plan.unchanged:
        print(f"no change: {source} is what openapi/ and the generated code already hold")
        return None

    if spec_path is not None:
        plan.raw_target.write_bytes(plan.new_bytes)
    try:
        print(_regenerate(root))
    except UpdateError:
        if spec_path is not None:
            plan.raw_target.write_bytes(plan.old_bytes)
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
    parser.add_argument("--spec", type=Path, help="the new raw spec (default: the committed one)")
    parser.add_argument("--report", type=Path, help="where to write the Markdown change report")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to update")
    args = parser.parse_args(argv)
    try:
        update_spec(args.spec, root=args.root.resolve(), report_path=args.report)
    except UpdateError as exc:
        print(f"update-spec: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
