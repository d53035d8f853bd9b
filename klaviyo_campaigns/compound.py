"""Compound documents: the resources of one ``include=`` response, linked up without a new request.

``resolve(document)`` indexes every resource of a JSON:API document (its ``data`` and its
``included``) by ``(type, id)``, each with its JSON and, for the types the revision has a
generated class for, its model. Types it does not know are kept with ``model=None``, never
dropped.

On top of the index, typed views of a campaign's hierarchy follow ``relationships.*.data``::

    document = await kl.pre.get_campaign(id, include=["campaign-audiences", "campaign-messages"])
    tree = pre_campaign_tree(document)
    for audience in tree.audiences:
        for message in audience.messages:
            print(message.message.id, [v.id for v in message.variations])

    tree = campaign_tree(await kl.get_campaign(id, include=["campaign-messages", "tags"]))
    tree.campaign, tree.messages, tree.tags

Both accept the generated response model (its resources are used as they are, each already of
its type's class) or the plain JSON (a ``Mapping``), parsed once per resource into the class
``model_class`` finds for its type. A linked resource
that the document does not include (because it was not asked for) is simply absent from a view;
``ResourceIndex.linkage`` still lists it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from importlib import import_module
from typing import Any, Protocol, TypeAlias, TypeVar, runtime_checkable

import attrs

from ._core import Unset, checked
from ._generated.operations import PRE_REVISION, STABLE_REVISION
from ._generated.pre.models.campaign import Campaign as PreCampaign
from ._generated.pre.models.campaign_audience import CampaignAudience as PreAudience
from ._generated.pre.models.campaign_message import CampaignMessage as PreMessage
from ._generated.pre.models.campaign_variation import CampaignVariation as PreVariation
from ._generated.pre.models.tag import Tag as PreTag
from ._generated.stable.models.campaign import Campaign as StableCampaign
from ._generated.stable.models.campaign_message import CampaignMessage as StableMessage
from ._generated.stable.models.tag import Tag as StableTag
from ._version import package_of
from .errors import ValidationError

__all__ = [
    "AudienceNode",
    "CampaignTree",
    "Document",
    "MessageNode",
    "PreCampaignTree",
    "Resource",
    "ResourceIndex",
    "ResourceKey",
    "campaign_tree",
    "campaign_trees",
    "model_class",
    "pre_campaign_tree",
    "pre_campaign_trees",
    "resolve",
]

ResourceKey: TypeAlias = tuple[str, str]
"""``(type, id)`` of a resource, e.g. ``("campaign-message", "01J...")``."""

M = TypeVar("M")


@runtime_checkable
class _ResourceModel(Protocol):
    """What every generated resource class has (``Campaign``, ``CampaignMessage``, ``Tag``...)."""

    @property
    def type_(self) -> str: ...

    @property
    def id(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


@runtime_checkable
class _DocumentModel(Protocol):
    """A generated response document: its ``data`` (one resource or a list)."""

    @property
    def data(self) -> object: ...

    def to_dict(self) -> dict[str, Any]: ...


@runtime_checkable
class _CompoundModel(_DocumentModel, Protocol):
    """A generated document that can carry ``included`` resources."""

    @property
    def included(self) -> object: ...


Document: TypeAlias = Mapping[str, Any] | _DocumentModel
"""A JSON:API document: a generated response model, or its JSON."""


def model_class(revision: str, kind: str) -> type[Any] | None:
    """The generated class of the JSON:API resource type ``kind`` in a revision, or ``None``.

    Code generation names the class of each response resource after its type
    (``campaign-message`` -> ``CampaignMessage``, ``codegen/shapes.py``), so the class is found
    by that rule: a type Klaviyo adds needs no entry here.
    """
    package = package_of(revision)
    if package is None:
        return None
    models = import_module(f".._generated.{package}.models", __name__)
    found = getattr(models, _pascal(kind), None)  # the package imports each class on first use
    return found if isinstance(found, type) else None


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9a-zA-Z]+", name))


@attrs.frozen
class Resource:
    """One resource object of a document: its JSON and, for a known type, its generated model."""

    type: str
    id: str
    raw: Mapping[str, Any] = attrs.field(repr=False)
    """The resource object as JSON (``type``, ``id``, ``attributes``, ``relationships``, ...)."""
    model: Any = attrs.field(default=None, repr=False)
    """The generated model object, or ``None`` for a type without one (or that did not parse)."""

    @property
    def key(self) -> ResourceKey:
        """``(type, id)``."""
        return (self.type, self.id)

    @property
    def attributes(self) -> Mapping[str, Any]:
        """The JSON ``attributes`` (empty if absent)."""
        found = self.raw.get("attributes")
        return found if isinstance(found, Mapping) else {}

    def linkage(self, relationship: str) -> tuple[ResourceKey, ...]:
        """The ``(type, id)`` keys a relationship's ``data`` names, in order (empty if none)."""
        relationships = self.raw.get("relationships")
        entry = relationships.get(relationship) if isinstance(relationships, Mapping) else None
        data = entry.get("data") if isinstance(entry, Mapping) else None
        items = data if isinstance(data, list) else [data]
        return tuple(key for key in map(_key, items) if key is not None)


class ResourceIndex(Mapping[ResourceKey, Resource]):
    """Every resource of a document by ``(type, id)``; ``primary`` keeps the ``data`` order."""

    def __init__(
        self, primary: Sequence[Resource], included: Sequence[Resource], revision: str | None
    ) -> None:
        self.primary: tuple[Resource, ...] = tuple(primary)
        self.included: tuple[Resource, ...] = tuple(included)
        self.revision = revision
        self._by_key: dict[ResourceKey, Resource] = {}
        for resource in (*self.included, *self.primary):  # data wins over a duplicate include
            self._by_key[resource.key] = resource

    def __getitem__(self, key: ResourceKey) -> Resource:
        return self._by_key[key]

    def __iter__(self) -> Iterator[ResourceKey]:
        return iter(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)

    def __repr__(self) -> str:
        kinds: dict[str, int] = {}
        for kind, _ in self._by_key:
            kinds[kind] = kinds.get(kind, 0) + 1
        counts = ", ".join(f"{kind}: {count}" for kind, count in sorted(kinds.items()))
        return f"<ResourceIndex {self.revision or 'untyped'} {{{counts}}}>"

    def of_type(self, type: str) -> tuple[Resource, ...]:
        """Every resource of one type, in document order."""
        return tuple(resource for resource in self._by_key.values() if resource.type == type)

    def linkage(
        self, resource: Resource | ResourceKey, relationship: str
    ) -> tuple[ResourceKey, ...]:
        """The keys a resource's relationship names, whether or not the document includes them."""
        return self._resource(resource).linkage(relationship)

    def related(self, resource: Resource | ResourceKey, relationship: str) -> tuple[Resource, ...]:
        """The resources a relationship names that the document holds, in linkage order."""
        keys = self.linkage(resource, relationship)
        return tuple(self._by_key[key] for key in keys if key in self._by_key)

    def referring(
        self, resource: Resource | ResourceKey, type: str, relationship: str
    ) -> tuple[Resource, ...]:
        """Resources of ``type`` whose ``relationship`` names ``resource`` (the reverse link)."""
        key = self._resource(resource).key
        return tuple(other for other in self.of_type(type) if key in other.linkage(relationship))

    def children(
        self, parent: Resource, relationship: str, type: str, back: str
    ) -> tuple[Resource, ...]:
        """Linked children in linkage order, then any that only link back via ``back``."""
        found = list(self.related(parent, relationship))
        seen = {child.key for child in found}
        for child in self.referring(parent, type, back):
            if child.key not in seen and child.type == type:
                found.append(child)
                seen.add(child.key)
        return tuple(child for child in found if child.type == type)

    def _resource(self, resource: Resource | ResourceKey) -> Resource:
        return resource if isinstance(resource, Resource) else self._by_key[resource]


def resolve(document: Document, *more: Document, revision: str | None = None) -> ResourceIndex:
    """Index a JSON:API document's ``data`` and ``included`` resources by ``(type, id)``.

    ``document`` is a generated response model or its JSON. A model document's resources are
    taken as they are: their classes are already those of their types (the generated unions are
    discriminated on ``type``). A JSON resource of a known type is parsed once into the class of
    its type for the ``revision`` (found from the model's package when not given; without it,
    JSON resources get no model). A resource whose JSON does not parse keeps ``model=None``, like
    one of an unknown type.

    ``more`` documents (e.g. the campaign's messages fetched with ``include=campaign-variations``)
    add their resources to the index; ``primary`` stays the first document's ``data``.
    """
    revision = revision or _revision_of(document)
    primary, included = _members(document)
    for extra in more:
        extra_data, extra_included = _members(extra)
        included += extra_data + extra_included
    return ResourceIndex(
        [r for r in (_resource(item, revision) for item in primary) if r is not None],
        [r for r in (_resource(item, revision) for item in included) if r is not None],
        revision,
    )


# Typed views of a campaign's hierarchy ----------------------------------------------------------


@attrs.frozen
class CampaignTree:
    """A stable-revision campaign with its included messages and tags."""

    campaign: StableCampaign
    messages: tuple[StableMessage, ...]
    tags: tuple[StableTag, ...]
    index: ResourceIndex = attrs.field(repr=False)

    def __repr__(self) -> str:
        return (
            f"<CampaignTree {self.campaign.id} messages={_ids(self.messages)} "
            f"tags={_ids(self.tags)}>"
        )


@attrs.frozen
class MessageNode:
    """A ``.pre`` campaign message with its included variations."""

    message: PreMessage
    variations: tuple[PreVariation, ...]

    def __repr__(self) -> str:
        return f"<MessageNode {self.message.id} variations={_ids(self.variations)}>"


@attrs.frozen
class AudienceNode:
    """A ``.pre`` campaign audience with the messages sent to it."""

    audience: PreAudience
    messages: tuple[MessageNode, ...]

    def __repr__(self) -> str:
        return f"<AudienceNode {self.audience.id} messages={list(self.messages)}>"


@attrs.frozen
class PreCampaignTree:
    """A ``.pre`` campaign: audiences -> messages -> variations, as far as the document includes.

    ``messages`` holds every included message of the campaign (also those not linked to an
    included audience); the same ``MessageNode`` objects appear under ``audiences``.
    """

    campaign: PreCampaign
    audiences: tuple[AudienceNode, ...]
    messages: tuple[MessageNode, ...]
    tags: tuple[PreTag, ...]
    index: ResourceIndex = attrs.field(repr=False)

    def __repr__(self) -> str:
        return (
            f"<PreCampaignTree {self.campaign.id} audiences={list(self.audiences)} "
            f"messages={_ids(m.message for m in self.messages)} tags={_ids(self.tags)}>"
        )


def campaign_trees(document: Document, *more: Document) -> tuple[CampaignTree, ...]:
    """One ``CampaignTree`` per campaign in ``data`` of a stable-revision document.

    ``more`` documents lend their resources (see ``resolve``).
    """
    index = resolve(document, *more, revision=STABLE_REVISION)
    return tuple(
        CampaignTree(
            campaign=_typed(campaign, StableCampaign),
            messages=tuple(
                _typed(message, StableMessage)
                for message in index.children(
                    campaign, "campaign-messages", "campaign-message", "campaign"
                )
            ),
            tags=tuple(_typed(tag, StableTag) for tag in index.related(campaign, "tags")),
            index=index,
        )
        for campaign in _campaigns(index)
    )


def campaign_tree(document: Document, *more: Document) -> CampaignTree:
    """The ``CampaignTree`` of a stable-revision single-campaign document."""
    return _single(campaign_trees(document, *more))


def pre_campaign_trees(document: Document, *more: Document) -> tuple[PreCampaignTree, ...]:
    """One ``PreCampaignTree`` per campaign in ``data`` of a ``.pre`` document.

    Klaviyo's published ``.pre`` spec lets a campaign include audiences and messages but not
    variations; pass the messages fetched with ``include=campaign-variations`` as ``more`` to
    fill them in (one request for all of a campaign's messages).
    """
    index = resolve(document, *more, revision=PRE_REVISION)
    return tuple(_pre_tree(index, campaign) for campaign in _campaigns(index))


def pre_campaign_tree(document: Document, *more: Document) -> PreCampaignTree:
    """The ``PreCampaignTree`` of a ``.pre`` single-campaign document (``more``: see above)."""
    return _single(pre_campaign_trees(document, *more))


def _pre_tree(index: ResourceIndex, campaign: Resource) -> PreCampaignTree:
    nodes: dict[ResourceKey, MessageNode] = {}

    def node(message: Resource) -> MessageNode:
        if message.key not in nodes:
            variations = index.children(
                message, "campaign-variations", "campaign-variation", "campaign-message"
            )
            nodes[message.key] = MessageNode(
                message=_typed(message, PreMessage),
                variations=tuple(_typed(v, PreVariation) for v in variations),
            )
        return nodes[message.key]

    messages = index.children(campaign, "campaign-messages", "campaign-message", "campaign")
    audiences = index.children(campaign, "campaign-audiences", "campaign-audience", "campaign")
    audience_nodes = tuple(
        AudienceNode(
            audience=_typed(audience, PreAudience),
            messages=tuple(
                node(message)
                for message in index.children(
                    audience, "campaign-messages", "campaign-message", "campaign-audience"
                )
            ),
        )
        for audience in audiences
    )
    return PreCampaignTree(
        campaign=_typed(campaign, PreCampaign),
        audiences=audience_nodes,
        messages=tuple(node(message) for message in messages),
        tags=tuple(_typed(tag, PreTag) for tag in index.related(campaign, "tags")),
        index=index,
    )


# Helpers ----------------------------------------------------------------------------------------


def _campaigns(index: ResourceIndex) -> list[Resource]:
    campaigns = [resource for resource in index.primary if resource.type == "campaign"]
    if not campaigns:
        kinds = ", ".join(sorted({r.type for r in index.primary})) or "nothing"
        raise ValidationError(f"not a campaign document: its data holds {kinds}")
    return campaigns


T = TypeVar("T")


def _single(trees: tuple[T, ...]) -> T:
    if len(trees) != 1:
        raise ValidationError(
            f"expected a document with one campaign, got {len(trees)}; use the *_trees function"
        )
    return trees[0]


def _typed(resource: Resource, cls: type[M]) -> M:
    if isinstance(resource.model, cls):
        return resource.model
    if resource.model is not None:  # a model document whose union gave another class
        raise ValidationError(
            f"{resource.type} {resource.id} is a {type(resource.model).__name__}, "
            f"not a {cls.__name__}"
        )
    try:
        parse: Callable[[Mapping[str, Any]], M] = cls.from_dict  # type: ignore[attr-defined]
        return checked(parse(resource.raw))  # parsed whole: models parse fields when read
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValidationError(
            f"{resource.type} {resource.id} does not parse as {cls.__name__}: {exc!r}"
        ) from exc


def _revision_of(document: object) -> str | None:
    module = type(document).__module__
    if "._generated.pre." in module:
        return PRE_REVISION
    if "._generated.stable." in module:
        return STABLE_REVISION
    return None


def _ids(resources: Iterable[Any]) -> list[str]:
    return [str(resource.id) for resource in resources]


def _members(document: Document) -> tuple[list[object], list[object]]:
    if isinstance(document, Mapping):
        return _items(document.get("data")), _items(document.get("included"))
    included = document.included if isinstance(document, _CompoundModel) else None
    return _items(document.data), _items(included)


def _items(value: object) -> list[object]:
    if value is None or isinstance(value, Unset):
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _key(item: object) -> ResourceKey | None:
    if isinstance(item, Mapping):
        kind, ident = item.get("type"), item.get("id")
        if isinstance(kind, str) and isinstance(ident, str):
            return (kind, ident)
    return None


def _resource(item: object, revision: str | None) -> Resource | None:
    """A ``Resource`` from a model object or a JSON object; None for something that is neither."""
    if isinstance(item, _ResourceModel):
        # Its JSON for the index's linkage (serialized, never parsed again).
        return Resource(type=str(item.type_), id=item.id, raw=item.to_dict(), model=item)
    key = _key(item)
    if key is None or not isinstance(item, Mapping):
        return None
    cls = model_class(revision, key[0]) if revision else None
    model: Any = None
    if cls is not None:
        try:
            model = checked(cls.from_dict(item))  # parsed whole, or no model
        except (KeyError, TypeError, ValueError, AttributeError):
            model = None
    if not isinstance(model, _ResourceModel) or model.type_ != key[0]:
        model = None  # a class of that name that is not this type's resource
    return Resource(type=key[0], id=key[1], raw=item, model=model)
