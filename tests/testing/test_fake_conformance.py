"""Property test: schemathesis generates requests for every operation of both revisions from
the normalized specs, sends them to the fake, and checks every answer against the spec.

Bounded: a few examples per operation (several hundred in all), seeded data so that path ids
often name real resources. Sparse fieldsets are not generated: with them Klaviyo (and the fake)
leaves out attributes the response schemas call required.
"""

from __future__ import annotations

import copy
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from klaviyo_campaigns.testing import FakeClock, FakeKlaviyo  # noqa: E402
from klaviyo_campaigns.testing.documents import type_of_path  # noqa: E402
from klaviyo_campaigns.testing.specs import available_revisions, load_document  # noqa: E402

EXAMPLES_PER_OPERATION = 5
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def relax_indistinguishable_one_ofs(document: dict[str, Any]) -> dict[str, Any]:
    """A copy where each ``oneOf`` whose variants all have no required property is an ``anyOf``.

    Klaviyo's specs put identical all-optional schemas in a ``oneOf`` (``send_options``: Email /
    SMS / Push options, each just ``use_smart_sending``; the two ``tracking_options``), so no
    value, Klaviyo's own answers included, can match exactly one of them. Only those are relaxed.
    """
    schemas = document["components"]["schemas"]

    def resolve(node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            node = schemas[node["$ref"].rsplit("/", 1)[1]]
        return node

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {key: walk(value) for key, value in node.items()}
        variants = out.get("oneOf")
        if variants and all(not resolve(v).get("required") for v in variants):
            out["anyOf"] = out.pop("oneOf")
        return out

    return dict(walk(copy.deepcopy(document)))


def seeded_fake() -> FakeKlaviyo:
    start = datetime(2026, 5, 1, tzinfo=UTC)  # with the seed: the same ids every run
    fake = FakeKlaviyo(clock=FakeClock(start, ticking=False), rate_limits=False, seed=1)
    for revision in fake.specs:
        ids = fake.seed_campaigns(3, revision=revision)
        fake.tag_campaign(ids[0], "promo", revision=revision)
    return fake


def existing_ids(fake: FakeKlaviyo, revision: str, type_: str) -> list[str]:
    return [r.id for r in fake.store[revision].all(type_)] or ["nothing"]


@pytest.mark.parametrize("revision", available_revisions())
def test_every_answer_conforms_to_the_spec(revision: str) -> None:
    fake = seeded_fake()
    schema = schemathesis.openapi.from_dict(
        relax_indistinguishable_one_ofs(load_document(revision))
    )
    schema.app = fake.app
    headers = {"revision": revision, "Authorization": "Klaviyo-API-Key pk_conformance"}
    stats: Counter[str] = Counter()
    failures: list[str] = []

    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(), real_id=st.booleans(), pick=st.integers(0, 100))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any, real_id: bool, pick: int) -> None:
            if case.query:
                case.query = {k: v for k, v in case.query.items() if not k.startswith("fields[")}
            if real_id and case.path_parameters and "id" in case.path_parameters:
                segment = case.operation.path.strip("/").split("/")[1]
                ids = existing_ids(fake, revision, type_of_path(segment))
                case.path_parameters["id"] = ids[pick % len(ids)]
            response = case.call(headers=headers)
            stats["examples"] += 1
            stats[f"{response.status_code // 100}xx"] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except BaseException as error:  # collect every failure, report them together
                failures.append(f"{case.operation.label} -> {response.status_code}: {error}"[:2000])

        run()
        stats["operations"] += 1

    print(f"\n{revision}: {dict(stats)}, failures: {len(failures)}")
    assert fake.unexpected_errors == []
    assert failures == [], "\n\n".join(failures[:5])
    assert stats["operations"] == len(fake.specs[revision].operations)
