"""Specification of the Overlay 1.0 applier in codegen/overlay.py."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from codegen.overlay import OverlayError, apply_overlay, apply_overlays, load_overlay


def overlay(*actions: dict[str, Any], title: str = "test overlay") -> dict[str, Any]:
    return {"overlay": "1.0.0", "info": {"title": title, "version": "1"}, "actions": list(actions)}


@pytest.fixture
def spec() -> dict[str, Any]:
    return {
        "info": {"title": "API", "version": "1"},
        "tags": [{"name": "a"}],
        "paths": {
            "/a": {
                "get": {
                    "operationId": "get_a",
                    "parameters": [{"name": "x", "in": "query"}, {"name": "y", "in": "query"}],
                },
                "post": {"operationId": "create_a"},
            },
            "/b": {"get": {"operationId": "get_b", "parameters": []}},
        },
    }


class TestUpdate:
    def test_merges_new_properties_into_the_selected_object(self, spec: dict[str, Any]) -> None:
        result = apply_overlay(spec, overlay({"target": "$.info", "update": {"x-new": True}}))

        assert result["info"] == {"title": "API", "version": "1", "x-new": True}

    def test_replaces_primitive_values_of_the_selected_object(self, spec: dict[str, Any]) -> None:
        result = apply_overlay(spec, overlay({"target": "$.info", "update": {"version": "2"}}))

        assert result["info"]["version"] == "2"

    def test_merges_nested_objects_recursively(self, spec: dict[str, Any]) -> None:
        action = {"target": "$.paths", "update": {"/a": {"get": {"summary": "s"}}}}

        result = apply_overlay(spec, overlay(action))

        assert result["paths"]["/a"]["get"]["operationId"] == "get_a"
        assert result["paths"]["/a"]["get"]["summary"] == "s"
        assert result["paths"]["/a"]["post"] == {"operationId": "create_a"}

    def test_replaces_a_nested_array_instead_of_merging_it(self, spec: dict[str, Any]) -> None:
        action = {"target": "$.paths['/a'].get", "update": {"parameters": [{"name": "z"}]}}

        result = apply_overlay(spec, overlay(action))

        assert result["paths"]["/a"]["get"]["parameters"] == [{"name": "z"}]

    def test_appends_a_value_to_a_selected_array(self, spec: dict[str, Any]) -> None:
        result = apply_overlay(spec, overlay({"target": "$.tags", "update": {"name": "b"}}))

        assert result["tags"] == [{"name": "a"}, {"name": "b"}]

    def test_appends_each_item_of_a_list_value_to_a_selected_array(
        self, spec: dict[str, Any]
    ) -> None:
        action = {"target": "$.tags", "update": [{"name": "b"}, {"name": "c"}]}

        result = apply_overlay(spec, overlay(action))

        assert [t["name"] for t in result["tags"]] == ["a", "b", "c"]

    def test_updates_every_node_the_target_selects(self, spec: dict[str, Any]) -> None:
        action = {"target": "$.paths.*.get", "update": {"x-safe": True}}

        result = apply_overlay(spec, overlay(action))

        assert result["paths"]["/a"]["get"]["x-safe"] is True
        assert result["paths"]["/b"]["get"]["x-safe"] is True
        assert "x-safe" not in result["paths"]["/a"]["post"]

    def test_does_not_share_the_update_value_between_matches(self, spec: dict[str, Any]) -> None:
        action = {"target": "$.paths.*.get", "update": {"x-meta": {"n": 1}}}

        result = apply_overlay(spec, overlay(action))
        result["paths"]["/a"]["get"]["x-meta"]["n"] = 2

        assert result["paths"]["/b"]["get"]["x-meta"] == {"n": 1}

    def test_selects_array_items_with_a_filter(self, spec: dict[str, Any]) -> None:
        action = {
            "target": "$.paths['/a'].get.parameters[?@.name == 'y']",
            "update": {"required": True},
        }

        result = apply_overlay(spec, overlay(action))

        assert result["paths"]["/a"]["get"]["parameters"][1] == {
            "name": "y",
            "in": "query",
            "required": True,
        }

    def test_rejects_a_non_mapping_update_for_an_object_target(self, spec: dict[str, Any]) -> None:
        with pytest.raises(OverlayError, match="mapping 'update'"):
            apply_overlay(spec, overlay({"target": "$.info", "update": "text"}))

    def test_rejects_a_target_that_selects_a_primitive(self, spec: dict[str, Any]) -> None:
        with pytest.raises(OverlayError, match="objects or arrays"):
            apply_overlay(spec, overlay({"target": "$.info.title", "update": {"a": 1}}))


class TestRemove:
    def test_deletes_the_selected_member_from_its_object(self, spec: dict[str, Any]) -> None:
        result = apply_overlay(spec, overlay({"target": "$.paths['/b']", "remove": True}))

        assert list(result["paths"]) == ["/a"]

    def test_deletes_the_selected_items_from_their_array(self, spec: dict[str, Any]) -> None:
        action = {"target": "$.paths['/a'].get.parameters[?@.in == 'query']", "remove": True}

        result = apply_overlay(spec, overlay(action))

        assert result["paths"]["/a"]["get"]["parameters"] == []

    def test_deletes_nodes_nested_inside_other_deleted_nodes_once(
        self, spec: dict[str, Any]
    ) -> None:
        action = {"target": "$.paths..*[?@.operationId]", "remove": True}
        spec["paths"]["/a"]["get"]["x-child"] = {"operationId": "nested"}

        result = apply_overlay(spec, overlay(action))

        assert result["paths"] == {"/a": {}, "/b": {}}

    def test_removing_then_adding_replaces_a_node(self, spec: dict[str, Any]) -> None:
        result = apply_overlay(
            spec,
            overlay(
                {"target": "$.paths['/a'].get", "remove": True},
                {"target": "$.paths['/a']", "update": {"get": {"operationId": "get_a_v2"}}},
            ),
        )

        assert result["paths"]["/a"]["get"] == {"operationId": "get_a_v2"}


class TestApplication:
    def test_runs_actions_in_order_each_seeing_the_previous_result(
        self, spec: dict[str, Any]
    ) -> None:
        result = apply_overlay(
            spec,
            overlay(
                {"target": "$.paths", "update": {"/c": {"get": {"operationId": "get_c"}}}},
                {"target": "$.paths['/c'].get", "update": {"summary": "added then edited"}},
            ),
        )

        assert result["paths"]["/c"]["get"]["summary"] == "added then edited"

    def test_does_not_mutate_the_input_document(self, spec: dict[str, Any]) -> None:
        before = copy.deepcopy(spec)

        apply_overlay(spec, overlay({"target": "$.paths['/a']", "remove": True}))

        assert spec == before

    def test_a_target_matching_nothing_names_overlay_action_and_target(
        self, spec: dict[str, Any]
    ) -> None:
        doc = overlay(
            {"target": "$.info", "update": {}},
            {"target": "$.paths['/missing']", "description": "edit missing", "remove": True},
            title="Campaign edits",
        )

        with pytest.raises(OverlayError) as caught:
            apply_overlay(spec, doc, source="10-campaigns.yaml")

        message = str(caught.value)
        for part in ("10-campaigns.yaml", "Campaign edits", "action 1", "edit missing"):
            assert part in message
        assert "$.paths['/missing']" in message
        assert "matches nothing" in message


class TestValidation:
    @pytest.mark.parametrize(
        ("document", "problem"),
        [
            ({"info": {"title": "t", "version": "1"}, "actions": [{}]}, "'overlay'"),
            ({"overlay": "2.0.0", "info": {"title": "t", "version": "1"}, "actions": []}, "1.0"),
            ({"overlay": "1.0.0", "info": {"title": "t"}, "actions": []}, "info.version"),
            ({"overlay": "1.0.0", "info": {"title": "t", "version": "1"}}, "'actions'"),
            ({"overlay": "1.0.0", "info": {"title": "t", "version": "1"}, "actions": []}, "empty"),
        ],
    )
    def test_rejects_a_malformed_document(self, document: dict[str, Any], problem: str) -> None:
        with pytest.raises(OverlayError, match=problem):
            apply_overlay({}, document)

    def test_rejects_an_action_without_update_or_remove(self) -> None:
        with pytest.raises(OverlayError, match="exactly one"):
            apply_overlay({}, overlay({"target": "$"}))

    def test_rejects_an_action_with_both_update_and_remove(self) -> None:
        with pytest.raises(OverlayError, match="exactly one"):
            apply_overlay({}, overlay({"target": "$", "update": {}, "remove": True}))

    def test_rejects_remove_false(self) -> None:
        with pytest.raises(OverlayError, match="only be true"):
            apply_overlay({}, overlay({"target": "$", "remove": False}))

    def test_rejects_a_misspelt_action_field(self) -> None:
        with pytest.raises(OverlayError, match="unknown field"):
            apply_overlay({}, overlay({"target": "$", "updates": {}}))

    def test_accepts_extension_fields_on_actions(self) -> None:
        result = apply_overlay({}, overlay({"target": "$", "update": {"a": 1}, "x-note": "ok"}))

        assert result == {"a": 1}

    @pytest.mark.parametrize(
        "target",
        [
            "paths.x",  # no root identifier
            "$.paths | $.info",  # python-jsonpath union extension
            "$.paths.~",  # python-jsonpath keys extension
            " $.paths",  # leading whitespace
        ],
    )
    def test_rejects_targets_that_are_not_rfc9535(self, target: str) -> None:
        with pytest.raises(OverlayError, match="RFC 9535"):
            apply_overlay({"paths": {}}, overlay({"target": target, "update": {}}))


class TestFiles:
    def test_loads_a_yaml_overlay_keeping_date_like_strings_as_strings(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "o.yaml"
        path.write_text(
            "overlay: 1.0.0\ninfo: {title: t, version: '1'}\n"
            "actions:\n- target: $.info\n  update: {version: '1999-01-01.pre'}\n"
        )

        loaded = load_overlay(path)

        assert loaded["overlay"] == "1.0.0"
        assert loaded["actions"][0]["update"] == {"version": "1999-01-01.pre"}

    def test_loads_a_json_overlay(self, tmp_path: Path) -> None:
        path = tmp_path / "o.json"
        path.write_text(
            '{"overlay": "1.0.0", "info": {"title": "t", "version": "1"},'
            ' "actions": [{"target": "$", "remove": true}]}'
        )

        assert load_overlay(path)["actions"] == [{"target": "$", "remove": True}]

    def test_load_names_the_file_of_a_malformed_overlay(self, tmp_path: Path) -> None:
        path = tmp_path / "bad.yaml"
        path.write_text("overlay: 1.0.0\ninfo: {title: t, version: '1'}\nactions: []\n")

        with pytest.raises(OverlayError, match=r"bad\.yaml"):
            load_overlay(path)

    def test_applies_every_yaml_file_of_a_folder_in_file_name_order(self, tmp_path: Path) -> None:
        for name, value in [("20-second.yaml", "second"), ("10-first.yaml", "first")]:
            (tmp_path / name).write_text(
                f"overlay: 1.0.0\ninfo: {{title: {name}, version: '1'}}\n"
                f"actions:\n- target: $.log\n  update: {value}\n"
            )
        (tmp_path / "notes.md").write_text("not an overlay")

        result = apply_overlays({"log": []}, tmp_path)

        assert result["log"] == ["first", "second"]

    def test_errors_from_a_folder_name_the_file(self, tmp_path: Path) -> None:
        (tmp_path / "30-broken.yaml").write_text(
            "overlay: 1.0.0\ninfo: {title: broken, version: '1'}\n"
            "actions:\n- target: $.nowhere\n  remove: true\n"
        )

        with pytest.raises(OverlayError, match=r"30-broken\.yaml"):
            apply_overlays({}, tmp_path)
