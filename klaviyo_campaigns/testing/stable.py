"""The stable revision: campaigns with channel messages, send and recipient-estimation jobs."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

from . import documents, filters
from .behaviour import Answer, Behaviour, Context, Relation, ResourceType, Timings
from .clock import isoformat
from .jobs import estimated_recipients, job_status, new_job
from .jsonapi import conflict, invalid, not_found, object_link, relationship_links
from .store import Dataset, Json, Record

SENT_STATES = ("Sending", "Sent")


def _iso(moment: datetime | None) -> str | None:
    return isoformat(moment) if moment is not None else None


def _channel(campaign: Record) -> str:
    return str(campaign.internal.get("channel", "email"))


def new_campaign(
    ctx_now: datetime,
    id_: str,
    name: str,
    *,
    channel: str = "email",
    audiences: Json | None = None,
    send_options: Json | None = None,
    send_strategy: Json | None = None,
    tracking_options: Json | None = None,
) -> Record:
    """A draft campaign record (messages are attached separately)."""
    return Record(
        "campaign",
        id_,
        {
            "name": name,
            "audiences": audiences or {"included": [], "excluded": []},
            "send_options": send_options or {"use_smart_sending": True},
            "send_strategy": send_strategy or {"method": "immediate"},
            "tracking_options": tracking_options,
        },
        relationships={"campaign-messages": [], "tags": []},
        created=ctx_now,
        updated=ctx_now,
        internal={"channel": channel, "status": "Draft", "archived": False},
    )


def new_message(now: datetime, id_: str, campaign_id: str, definition: Json) -> Record:
    """A campaign message record with its channel definition."""
    definition = copy.deepcopy(definition)
    if definition.get("channel") == "mobile_push":
        definition.setdefault("notification_type", "standard")
        if definition["notification_type"] == "standard":
            definition.setdefault("content", {})
    return Record(
        "campaign-message",
        id_,
        {"definition": definition},
        relationships={"campaign": campaign_id, "template": None, "image": None},
        created=now,
        updated=now,
    )


class StableBehaviour(Behaviour):
    """Handlers and resource types of the stable revision."""

    def __init__(self, revision: str, timings: Timings) -> None:
        super().__init__()
        self.revision = revision
        self.timings = timings
        self.types = {
            "campaign": ResourceType(
                "campaign",
                self._campaign_attributes,
                {
                    "campaign-messages": Relation("campaign-messages", "campaign-message", True),
                    "tags": Relation("tags", "tag", True),
                },
                fields={
                    "id": lambda r: r.id,
                    "name": lambda r: r.attributes["name"],
                    "status": lambda r: r.internal["status"],
                    "archived": lambda r: r.internal["archived"],
                    "messages.channel": _channel,
                    "created_at": lambda r: r.created,
                    "updated_at": lambda r: r.updated,
                    "scheduled_at": lambda r: r.internal.get("scheduled_at"),
                },
            ),
            "campaign-message": ResourceType(
                "campaign-message",
                self._message_attributes,
                {
                    "campaign": Relation("campaign", "campaign", False),
                    "template": Relation("template", "template", False),
                    "image": Relation("image", "image", False),
                },
                fields={"id": lambda r: r.id, "created_at": lambda r: r.created},
            ),
            "tag": ResourceType(
                "tag", lambda r, c: dict(r.attributes), fields={"id": lambda r: r.id}
            ),
            "template": ResourceType("template", _template_attributes),
            "image": ResourceType("image", _image_attributes),
            "campaign-send-job": ResourceType(
                "campaign-send-job", lambda r, c: {"status": job_status(r, c.now, self.timings)}
            ),
            "campaign-recipient-estimation-job": ResourceType(
                "campaign-recipient-estimation-job",
                lambda r, c: {"status": job_status(r, c.now, self.timings)},
            ),
            "campaign-recipient-estimation": ResourceType(
                "campaign-recipient-estimation", lambda r, c: dict(r.attributes)
            ),
        }
        self.handlers = {
            "get_campaigns": self.get_campaigns,
            "create_campaign": self.create_campaign,
            "update_campaign": self.update_campaign,
            "delete_campaign": self.delete_campaign,
            "create_campaign_clone": self.clone_campaign,
            "update_campaign_message": self.update_message,
            "send_campaign": self.send_campaign,
            "cancel_campaign_send": self.cancel_send,
        }
        register_shared(self)

    # -- rendering ---------------------------------------------------------------------------

    def _campaign_attributes(self, record: Record, ctx: Context) -> Json:
        attributes = copy.deepcopy(record.attributes)
        attributes.update(
            status=record.internal["status"],
            archived=record.internal["archived"],
            created_at=_iso(record.created),
            updated_at=_iso(record.updated),
            scheduled_at=_iso(record.internal.get("scheduled_at")),
            send_time=_iso(record.internal.get("send_time")),
        )
        return attributes

    def _message_attributes(self, record: Record, ctx: Context) -> Json:
        campaign = ctx.data.get("campaign", str(record.relationships["campaign"]))
        send_time = campaign.internal.get("send_time") if campaign else None
        return {
            "definition": copy.deepcopy(record.attributes["definition"]),
            "send_times": [{"datetime": isoformat(send_time), "is_local": False}]
            if send_time
            else [],
            "created_at": _iso(record.created),
            "updated_at": _iso(record.updated),
        }

    def seed_campaign(
        self, data: Dataset, new_id: Callable[[], str], when: datetime, name: str, channel: str
    ) -> str:
        campaign = data.add(
            new_campaign(
                when,
                new_id(),
                name,
                channel=channel,
                audiences={"included": ["LIST_SEED"], "excluded": []},
            )
        )
        definition: Json = {"channel": channel}
        if channel == "email":
            definition["content"] = {"subject": name, "from_email": "seed@example.com"}
        message = data.add(new_message(when, new_id(), campaign.id, definition))
        campaign.relationships["campaign-messages"] = [message.id]
        return campaign.id

    # -- time --------------------------------------------------------------------------------

    def settle(self, data: Dataset, now: datetime) -> None:
        """Scheduled and sending campaigns move on once their send time has passed."""
        for campaign in data.all("campaign"):
            status = campaign.internal["status"]
            send_time = campaign.internal.get("send_time")
            if status in ("Scheduled", "Preparing to send", "Sending") and send_time is not None:
                if now >= send_time + self.timings.sending:
                    campaign.internal["status"] = "Sent"
                elif now >= send_time:
                    campaign.internal["status"] = "Sending"

    # -- campaigns ---------------------------------------------------------------------------

    async def get_campaigns(self, ctx: Context) -> Answer:
        node = filters.parse(str(ctx.query.get("filter", "")))
        if not _mentions(node, "messages.channel"):
            raise invalid(
                "A channel filter is required to list campaigns, e.g. "
                "equals(messages.channel,'email').",
                parameter="filter",
            )
        return await documents.list_all(ctx, self)

    async def create_campaign(self, ctx: Context) -> Answer:
        attributes = _data(ctx)["attributes"]
        messages = attributes["campaign-messages"]["data"]
        if not messages:
            raise invalid(
                "A campaign needs a message.", pointer="/data/attributes/campaign-messages"
            )
        channels = {m["attributes"]["definition"]["channel"] for m in messages}
        if len(channels) != 1:
            raise invalid(
                "All messages of a campaign must use the same channel.",
                pointer="/data/attributes/campaign-messages",
            )
        campaign = new_campaign(
            ctx.now,
            ctx.new_id(),
            attributes["name"],
            channel=channels.pop(),
            audiences={"excluded": [], **attributes["audiences"]},
            send_options=attributes.get("send_options"),
            send_strategy=attributes.get("send_strategy"),
            tracking_options=attributes.get("tracking_options"),
        )
        ctx.data.add(campaign)
        for message in messages:
            record = new_message(
                ctx.now, ctx.new_id(), campaign.id, message["attributes"]["definition"]
            )
            image = message.get("relationships", {}).get("image", {}).get("data")
            if image:
                record.relationships["image"] = _ensure_image(ctx, image["id"]).id
            ctx.data.add(record)
            campaign.relationships["campaign-messages"].append(record.id)  # type: ignore[union-attr]
        return documents.single(ctx, self, campaign, 201)

    async def update_campaign(self, ctx: Context) -> Answer:
        campaign = ctx.data.require("campaign", ctx.id)
        _same_id(ctx)
        if campaign.internal["status"] in SENT_STATES:
            raise conflict("A campaign that is sending or sent cannot be updated.")
        for key, value in _data(ctx)["attributes"].items():
            if value is None:
                continue
            if key == "audiences":
                current = campaign.attributes["audiences"]
                current.update({k: v for k, v in value.items() if v is not None})
            else:
                campaign.attributes[key] = value
        campaign.updated = ctx.now
        return documents.single(ctx, self, campaign)

    async def delete_campaign(self, ctx: Context) -> Answer:
        campaign = ctx.data.require("campaign", ctx.id)
        for message_id in campaign.ids("campaign-messages"):
            ctx.data.remove("campaign-message", message_id)
        ctx.data.remove("campaign", campaign.id)
        return Answer(204)

    async def clone_campaign(self, ctx: Context) -> Answer:
        data = _data(ctx)
        source = ctx.data.require("campaign", data["id"])
        name = (data.get("attributes") or {}).get(
            "new_name"
        ) or f"{source.attributes['name']} (Copy)"
        clone = new_campaign(
            ctx.now,
            ctx.new_id(),
            name,
            channel=_channel(source),
            audiences=copy.deepcopy(source.attributes["audiences"]),
            send_options=copy.deepcopy(source.attributes["send_options"]),
            send_strategy=copy.deepcopy(source.attributes["send_strategy"]),
            tracking_options=copy.deepcopy(source.attributes["tracking_options"]),
        )
        ctx.data.add(clone)
        for message_id in source.ids("campaign-messages"):
            message = ctx.data.require("campaign-message", message_id)
            copied = new_message(ctx.now, ctx.new_id(), clone.id, message.attributes["definition"])
            copied.relationships.update(
                template=message.relationships.get("template"),
                image=message.relationships.get("image"),
            )
            ctx.data.add(copied)
            clone.relationships["campaign-messages"].append(copied.id)  # type: ignore[union-attr]
        return documents.single(ctx, self, clone, 201)

    # -- messages ----------------------------------------------------------------------------

    async def update_message(self, ctx: Context) -> Answer:
        message = ctx.data.require("campaign-message", ctx.id)
        _same_id(ctx)
        data = _data(ctx)
        campaign = ctx.data.require("campaign", str(message.relationships["campaign"]))
        if campaign.internal["status"] in SENT_STATES:
            raise conflict("Messages of a campaign that is sending or sent cannot be updated.")
        definition = (data.get("attributes") or {}).get("definition")
        if definition is not None:
            if definition["channel"] != _channel(campaign):
                raise invalid(
                    f"This message's channel is {_channel(campaign)!r}.",
                    pointer="/data/attributes/definition/channel",
                )
            merged = _merge(message.attributes["definition"], definition)
            message.attributes["definition"] = new_message(
                ctx.now, message.id, campaign.id, merged
            ).attributes["definition"]
        image = (data.get("relationships") or {}).get("image", {}).get("data")
        if image:
            message.relationships["image"] = _ensure_image(ctx, image["id"]).id
        message.updated = ctx.now
        return documents.single(ctx, self, message)

    # -- jobs --------------------------------------------------------------------------------

    async def send_campaign(self, ctx: Context) -> Answer:
        campaign = ctx.data.require("campaign", _data(ctx)["id"])
        if campaign.internal["status"] != "Draft":
            raise conflict(f"The campaign is {campaign.internal['status']!r}, not 'Draft'.")
        strategy = campaign.attributes["send_strategy"]
        when = ctx.now
        if strategy.get("method") in ("static", "throttled") and strategy.get("datetime"):
            when = max(ctx.now, filters.parse_datetime(strategy["datetime"]) or ctx.now)
        campaign.internal.update(
            status="Scheduled" if when > ctx.now else "Preparing to send",
            scheduled_at=ctx.now,
            send_time=when if when > ctx.now else ctx.now + self.timings.job_queued,
        )
        campaign.updated = ctx.now
        job = ctx.data.add(new_job("campaign-send-job", campaign.id, ctx.now))
        return documents.single(ctx, self, job, 202)

    async def cancel_send(self, ctx: Context) -> Answer:
        job = ctx.data.require("campaign-send-job", ctx.id)
        _same_id(ctx)
        campaign = ctx.data.require("campaign", job.id)
        action = _data(ctx)["attributes"]["action"]
        status = campaign.internal["status"]
        if status == "Sent" or job.internal.get("cancelled"):
            raise conflict(f"The campaign is {status!r}: there is nothing to {action}.")
        if action == "revert":
            if status not in ("Scheduled", "Preparing to send"):
                raise conflict(f"A {status!r} campaign cannot be reverted to draft.")
            campaign.internal.update(status="Draft", scheduled_at=None, send_time=None)
        else:
            campaign.internal["status"] = "Cancelled"
        job.internal["cancelled"] = True
        campaign.updated = ctx.now
        return Answer(204)


# -- shared by both revisions ---------------------------------------------------------------


async def assign_template(ctx: Context, behaviour: Behaviour) -> Answer:
    """``POST /api/campaign-message-assign-template``: point a message at a template.

    The answer is the spec's ``PostCampaignMessageResponse``: a message with ``label``,
    ``channel`` and ``content`` at the top of its attributes, not the shape ``GET`` gives.
    """
    data = _data(ctx)
    message = ctx.data.require("campaign-message", data["id"])
    template_id = data["relationships"]["template"]["data"]["id"]
    template = ctx.data.get("template", template_id) or ctx.data.add(
        Record(
            "template",
            template_id,
            {"name": f"Template {template_id}", "editor_type": "CODE", "html": "<html></html>"},
            created=ctx.now,
            updated=ctx.now,
        )
    )
    message.relationships["template"] = template.id
    message.updated = ctx.now
    campaign = ctx.data.get("campaign", str(message.relationships["campaign"]))
    definition = message.attributes["definition"]
    label = definition.get("label") or (campaign.attributes["name"] if campaign else "")
    attributes = {
        "label": label,
        "channel": definition["channel"],
        "content": copy.deepcopy(definition.get("content") or {}),
        **{
            k: v
            for k, v in behaviour.render(message, ctx)["attributes"].items()
            if k in ("send_times", "created_at", "updated_at")
        },
    }
    return Answer(
        200, {"data": assigned_message(ctx, message, attributes), "links": {"self": ctx.self_url}}
    )


def assigned_message(ctx: Context, message: Record, attributes: Json) -> Json:
    """The ``campaign-message`` resource of an assign-template answer, around ``attributes``."""
    relationships = {
        name: {
            "data": {"type": name, "id": message.relationships.get(name)},
            "links": relationship_links(ctx.base_url, "campaign-message", message.id, name),
        }
        for name in ("campaign", "template")
    }
    return {
        "type": "campaign-message",
        "id": message.id,
        "attributes": attributes,
        "relationships": relationships,
        "links": {"self": object_link(ctx.base_url, "campaign-message", message.id)},
    }


async def update_image(ctx: Context, behaviour: Behaviour) -> Answer:
    """``PATCH /api/campaign-messages/{id}/relationships/image``."""
    message = ctx.data.require("campaign-message", ctx.id)
    message.relationships["image"] = _ensure_image(ctx, _data(ctx)["id"]).id
    message.updated = ctx.now
    return Answer(204)


async def refresh_estimation(ctx: Context, behaviour: Behaviour) -> Answer:
    """``POST /api/campaign-recipient-estimation-jobs``: start (or restart) an estimation."""
    campaign = ctx.data.require("campaign", _data(ctx)["id"])
    included, excluded = _audience_lists(ctx.data, campaign)
    ctx.data.add(
        Record(
            "campaign-recipient-estimation",
            campaign.id,
            {"estimated_recipient_count": estimated_recipients(included, excluded)},
        )
    )
    job = ctx.data.add(new_job("campaign-recipient-estimation-job", campaign.id, ctx.now))
    return documents.single(ctx, behaviour, job, 202)


async def get_estimation(ctx: Context, behaviour: Behaviour) -> Answer:
    """``GET /api/campaign-recipient-estimations/{id}``: 0 until an estimation job completes."""
    campaign = ctx.data.require("campaign", ctx.id)
    estimate = ctx.data.get("campaign-recipient-estimation", campaign.id)
    job = ctx.data.get("campaign-recipient-estimation-job", campaign.id)
    done = job is not None and job_status(job, ctx.now, _timings(behaviour)) == "complete"
    if estimate is None or not done:
        estimate = Record(
            "campaign-recipient-estimation", campaign.id, {"estimated_recipient_count": 0}
        )
    return documents.single(ctx, behaviour, estimate)


def _timings(behaviour: Behaviour) -> Timings:
    timings = getattr(behaviour, "timings", None)
    return timings if isinstance(timings, Timings) else Timings()


def _audience_lists(data: Dataset, campaign: Record) -> tuple[list[str], list[str]]:
    audiences = campaign.attributes.get("audiences")
    if isinstance(audiences, dict):
        return list(audiences.get("included") or []), list(audiences.get("excluded") or [])
    included: list[str] = []
    excluded: list[str] = []
    for audience in data.all("campaign-audience"):
        if audience.relationships.get("campaign") == campaign.id:
            included += audience.attributes.get("included") or []
            excluded += audience.attributes.get("excluded") or []
    return included, excluded


def _ensure_image(ctx: Context, image_id: str) -> Record:
    return ctx.data.get("image", image_id) or ctx.data.add(
        Record(
            "image",
            image_id,
            {
                "name": f"image-{image_id}.png",
                "image_url": f"https://images.example.invalid/{image_id}.png",
                "format": "png",
                "size": 1024,
                "hidden": False,
            },
            created=ctx.now,
            updated=ctx.now,
        )
    )


def _template_attributes(record: Record, ctx: Context) -> Json:
    return {
        "name": record.attributes["name"],
        "editor_type": record.attributes.get("editor_type", "CODE"),
        "html": record.attributes.get("html", ""),
        "text": record.attributes.get("text"),
        "amp": record.attributes.get("amp"),
        "created": _iso(record.created),
        "updated": _iso(record.updated),
    }


def _image_attributes(record: Record, ctx: Context) -> Json:
    return {**record.attributes, "updated_at": _iso(record.updated) or isoformat(ctx.now)}


def _data(ctx: Context) -> Json:
    if ctx.body is None:
        raise invalid("A request body is required.", pointer="/data")
    data: Json = ctx.body["data"]
    return data


def _same_id(ctx: Context) -> None:
    data = _data(ctx)
    if "id" in data and data["id"] != ctx.id:
        raise conflict(
            f"The id in the body ({data['id']!r}) does not match the URL ({ctx.id!r}).",
            pointer="/data/id",
        )


def _merge(base: Json, update: Json) -> Json:
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _mentions(node: Any, field: str) -> bool:
    if isinstance(node, filters.Comparison):
        return node.field == field
    return any(_mentions(child, field) for child in node.children)


def wrap(func: Any, behaviour: Behaviour) -> Any:
    """Bind a shared handler to a behaviour."""

    async def handler(ctx: Context) -> Answer:
        return await func(ctx, behaviour)  # type: ignore[no-any-return]

    return handler


def register_shared(behaviour: Behaviour) -> None:
    """The stable operations both revisions serve (kept in ``.pre`` unchanged)."""
    behaviour.handlers.update(
        {
            "assign_template_to_campaign_message": wrap(assign_template, behaviour),
            "update_image_for_campaign_message": wrap(update_image, behaviour),
            "refresh_campaign_recipient_estimation": wrap(refresh_estimation, behaviour),
            "get_campaign_recipient_estimation": wrap(get_estimation, behaviour),
        }
    )


__all__ = ["StableBehaviour", "new_campaign", "new_message", "not_found"]
