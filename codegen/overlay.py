"""Apply OpenAPI Overlay 1.0 documents to an OpenAPI document.

An overlay is a list of actions; each action selects nodes with an RFC 9535 JSONPath
``target`` and either merges ``update`` into them or removes them (``remove: true``).

Targets are evaluated with python-jsonpath in strict mode
(``JSONPathEnvironment(strict=True)``): strict mode follows RFC 9535 and rejects the
library's own extensions (``|`` unions, ``~`` keys, ``^`` pseudo root, a missing ``$``),
so an overlay that works here works with any RFC 9535 tool, and vice versa.

Rules, from the Overlay 1.0.0 text, plus where this applier is stricter:

- actions run in order, each against the result of the one before;
- ``update`` on an object merges recursively: objects merge key by key, anything else
  (strings, numbers, arrays) replaces the old value;
- ``update`` on an array appends the value; a list value appends each of its items;
- ``remove: true`` deletes every selected node from its parent object or array;
- a target must select objects or arrays (Overlay 1.0 does not edit primitives);
- stricter than the spec: an action whose target selects nothing is an error
  (:class:`OverlayError`), so an overlay cannot silently stop applying when the spec
  under it changes; each action has exactly one of ``update`` / ``remove: true``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jsonpath import JSONPathEnvironment
from jsonpath.exceptions import JSONPathError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

__all__ = ["OverlayError", "apply_overlay", "apply_overlays", "load_overlay"]

_RFC9535 = JSONPathEnvironment(strict=True)
_OVERLAY_VERSION = re.compile(r"^1\.0\.\d+$")
_ACTION_FIELDS = frozenset({"target", "description", "update", "remove"})

Location = tuple[str | int, ...]


class OverlayError(Exception):
    """An overlay document is malformed, or one of its actions cannot be applied."""


def load_overlay(path: Path) -> dict[str, Any]:
    """Read an overlay document (YAML, or JSON by a ``.json`` suffix) and check its shape."""
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".json":
            loaded = json.loads(text)
        else:
            loaded = YAML(typ="safe", pure=True).load(text)
    except (ValueError, YAMLError) as exc:
        raise OverlayError(f"{path}: not a readable overlay document: {exc}") from exc
    _validate(loaded, str(path))
    return loaded  # type: ignore[no-any-return]


def apply_overlay(
    document: dict[str, Any], overlay: dict[str, Any], *, source: str | None = None
) -> dict[str, Any]:
    """Return a copy of ``document`` with every action of ``overlay`` applied in order.

    ``source`` (e.g. the overlay's file name) is only used to name the overlay in errors.
    """
    name = source or "overlay"
    _validate(overlay, name)
    label = f"{name} ({overlay['info']['title']!r})"
    result = copy.deepcopy(document)
    for index, action in enumerate(overlay["actions"]):
        where = (
            f"{label}, action {index} "
            f"({action.get('description', 'no description')!r}, target {action['target']})"
        )
        locations = _select(result, action["target"], where)
        if action.get("remove") is True:
            _remove(result, locations)
        else:
            for location in locations:
                _update(_resolve(result, location), action["update"], where)
    return result


def apply_overlays(document: dict[str, Any], overlay_dir: Path) -> dict[str, Any]:
    """Apply every ``*.yaml`` overlay in ``overlay_dir``, in sorted file-name order."""
    for path in sorted(overlay_dir.glob("*.yaml"), key=lambda p: p.name):
        document = apply_overlay(document, load_overlay(path), source=path.name)
    return document


def _validate(overlay: Any, name: str) -> None:
    def fail(problem: str) -> OverlayError:
        return OverlayError(f"{name}: {problem}")

    if not isinstance(overlay, dict):
        raise fail("an overlay document must be a mapping")
    version = overlay.get("overlay")
    if not isinstance(version, str) or not _OVERLAY_VERSION.match(version):
        raise fail(f"'overlay' must be a 1.0.x version string, got {version!r}")
    info = overlay.get("info")
    if not isinstance(info, dict):
        raise fail("'info' must be a mapping with 'title' and 'version'")
    for key in ("title", "version"):
        if not isinstance(info.get(key), str):
            raise fail(f"'info.{key}' must be a string")
    actions = overlay.get("actions")
    if not isinstance(actions, list) or not actions:
        raise fail("'actions' must be a non-empty list")
    for index, action in enumerate(actions):
        _validate_action(action, f"{name}: action {index}")


def _validate_action(action: Any, where: str) -> None:
    if not isinstance(action, dict):
        raise OverlayError(f"{where}: an action must be a mapping")
    unknown = [k for k in action if k not in _ACTION_FIELDS and not str(k).startswith("x-")]
    if unknown:
        raise OverlayError(f"{where}: unknown field(s) {sorted(map(str, unknown))}")
    target = action.get("target")
    if not isinstance(target, str):
        raise OverlayError(f"{where}: 'target' must be a JSONPath string")
    try:
        _RFC9535.compile(target)
    except JSONPathError as exc:
        raise OverlayError(f"{where}: target {target!r} is not RFC 9535 JSONPath: {exc}") from exc
    if "description" in action and not isinstance(action["description"], str):
        raise OverlayError(f"{where}: 'description' must be a string")
    has_update = "update" in action
    if "remove" in action and action["remove"] is not True:
        raise OverlayError(f"{where}: 'remove' may only be true (omit it otherwise)")
    if has_update == ("remove" in action):
        raise OverlayError(f"{where}: needs exactly one of 'update' or 'remove: true'")


def _select(document: dict[str, Any], target: str, where: str) -> list[Location]:
    matches = list(_RFC9535.finditer(target, document))
    if not matches:
        raise OverlayError(f"{where}: target matches nothing")
    for match in matches:
        if not isinstance(match.obj, dict | list):
            raise OverlayError(
                f"{where}: target selects a {type(match.obj).__name__} at {match.path}; "
                "Overlay 1.0 targets must be objects or arrays"
            )
    return [tuple(match.parts) for match in matches]


def _resolve(document: Any, location: Location) -> Any:
    node = document
    for part in location:
        node = node[part]
    return node


def _update(node: Any, value: Any, where: str) -> None:
    if isinstance(node, list):
        node.extend(copy.deepcopy(value) if isinstance(value, list) else [copy.deepcopy(value)])
    elif isinstance(value, dict):
        _merge(node, value)
    else:
        raise OverlayError(f"{where}: an object target needs a mapping 'update'")


def _merge(into: dict[str, Any], value: dict[str, Any]) -> None:
    for key, new in value.items():
        old = into.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            _merge(old, new)
        else:
            into[key] = copy.deepcopy(new)


def _remove(document: dict[str, Any], locations: Iterable[Location]) -> None:
    unique = set(locations)
    if () in unique:
        raise OverlayError("the document root cannot be removed")
    # A node inside another removed node goes with it; array items go from the end
    # so earlier indexes stay valid while deleting.
    kept = [loc for loc in unique if not any(loc[:n] in unique for n in range(1, len(loc)))]
    for location in sorted(kept, key=_removal_order):
        parent = _resolve(document, location[:-1])
        del parent[location[-1]]


def _removal_order(location: Location) -> tuple[tuple[int, int | str], ...]:
    # Deepest and highest-index first; keys sort after indexes only to give a total order.
    return tuple((0, -part) if isinstance(part, int) else (1, part) for part in location)
