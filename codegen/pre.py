"""The ``.pre`` spec before overlays: Klaviyo's published ``.pre`` file plus what ``.pre`` keeps.

Klaviyo publishes the ``.pre`` revision as a spec of its own (``beta.json``); ``make update-spec``
commits its Campaigns operations (cut by path) as ``openapi/pre.raw.json``. It defines only the
operations the ``.pre`` revision changes or adds; a ``.pre`` request to any other operation gets
the stable behaviour. So the ``.pre`` spec is:

1. the published file, normalized (:func:`normalize_published`);
2. plus every stable operation whose (path, method) the published file does not define, with the
   stable components they reference that the published file lacks (:func:`with_kept_stable`);
3. then ``overlays/`` (``codegen/generate.py``), the fix-ups and the generator, as for stable.

Nothing here is a list: a ``.pre`` operation Klaviyo adds replaces the stable one by itself, and a
stable operation Klaviyo adds is kept by itself.
"""

from __future__ import annotations

import copy

from .spec import Spec, operations, referenced

#: The tag the generator names the operations' module after (``api/campaigns/``), as in stable.
TAG = "Campaigns"


def normalize_published(published: Spec, stable: Spec) -> Spec:
    """The published ``.pre`` cut, tagged as the stable cut is (a copy; the input is unchanged).

    Klaviyo tags its ``.pre`` operations ``Beta APIs``; the generator puts each operation in the
    module of its first tag. Both revisions are the Campaigns API, so every operation is tagged
    ``Campaigns`` and the document's ``tags`` are the stable spec's: ``kl.pre`` gets the same
    module layout as ``kl.stable``. Nothing else changes.
    """
    pre = copy.deepcopy(published)
    for _, _, operation in operations(pre):
        operation["tags"] = [TAG]
    pre["tags"] = copy.deepcopy([t for t in stable.get("tags", []) if t.get("name") == TAG]) or [
        {"name": TAG}
    ]
    return pre


def kept_stable_operations(published: Spec, stable: Spec) -> list[tuple[str, str]]:
    """(METHOD, path) of the stable operations the published ``.pre`` file does not define."""
    defined = {(method, path) for method, path, _ in operations(published)}
    return [(m, p) for m, p, _ in operations(stable) if (m, p) not in defined]


def with_kept_stable(pre: Spec, stable: Spec) -> Spec:
    """``pre`` plus the stable operations it does not define, and the components they need.

    A component the kept operations reference comes from the stable spec only if ``pre`` has
    none of that name: where both have it (a shape ``.pre`` changed), the published one wins, and
    the kept operation is generated against it, as Klaviyo serves ``.pre`` requests.
    """
    result = copy.deepcopy(pre)
    kept = kept_stable_operations(pre, stable)
    for method, path in kept:
        item = result["paths"].setdefault(path, {})
        item[method.lower()] = copy.deepcopy(stable["paths"][path][method.lower()])
    components = result.setdefault("components", {})
    stable_components = stable.get("components", {})
    # What the kept operations reach, resolving each name as it will be once copied: the
    # published component where there is one, else the stable one.
    view = {
        section: {**stable_components.get(section, {}), **components.get(section, {})}
        for section in {*stable_components, *components}
    }
    roots = [result["paths"][path][method.lower()] for method, path in kept]
    for section, name in sorted(referenced(view, roots)):
        entries = components.setdefault(section, {})
        if name not in entries and name in stable_components.get(section, {}):
            entries[name] = copy.deepcopy(stable_components[section][name])
    return result
