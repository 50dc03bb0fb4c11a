"""Focused tests of tests/specs.py, the checker the connector and emulator tests lean on:
each description format accepts a good payload and rejects a bad one, operations are
found from concrete paths and templates with or without the server's path prefix, and
every mismatch is a SpecMismatch that says what differs."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest

from sandbox.emulator import RecordedRequest
from tests.specs import (
    SpecMismatch,
    assert_request_matches,
    find_operation,
    oas30_to_jsonschema,
    validate_request_body,
    validate_response,
    validate_schema,
    validate_slack_event_envelope,
)

TRELLO_CARD = "5f1e2d3c4b5a697887766554"


def recorded(
    method: str,
    path: str,
    *,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> RecordedRequest:
    return RecordedRequest(method, path, query or {}, headers or {}, body)


# --- each format: a good and a bad payload -------------------------------------------

FOLDER = {"name": "Atlas", "id": "id:a4ayc_80_OEAAAAAAAAAXw", "path_lower": "/atlas"}
# (spec, schema name, a payload that matches, one that does not, where it differs)
SCHEMA_CASES = [
    pytest.param(
        "github",
        "basic-error",
        {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"},
        {"message": 404},
        "at message: 404 is not of type 'string'",
        id="openapi-3.0",
    ),
    pytest.param(
        "asana",
        "TaskBase",
        {"gid": "12", "name": "Launch", "completed_by": None, "parent": None},
        {"gid": "12", "completed_by": {"gid": 12}},
        "at completed_by",
        id="openapi-3.0-nullable-reference",
    ),
    pytest.param(
        "openai",
        "Error",
        {"type": "invalid_request_error", "message": "bad", "param": None, "code": None},
        {"type": "invalid_request_error", "message": "bad", "code": None},
        "'param' is a required property",
        id="openapi-3.1",
    ),
    pytest.param(
        "gmail",
        "Draft",
        {"id": "r1", "message": {"id": "m1", "labelIds": ["DRAFT"]}},
        {"id": "r1", "message": {"id": "m1", "labelIds": "DRAFT"}},
        "at message/labelIds",
        id="google-discovery",
    ),
    pytest.param(
        "dropbox",
        "files.FolderMetadata",
        FOLDER,
        {key: value for key, value in FOLDER.items() if key != "id"},
        "'id' is a required property",
        id="dropbox-stone",
    ),
    pytest.param(
        "slack",
        "objs_paging",
        {"count": 20, "page": 1, "pages": 3, "total": 42},
        {"count": "twenty", "page": 1, "pages": 3, "total": 42},
        "at count",
        id="swagger-2.0",
    ),
]


@pytest.mark.parametrize(("spec", "schema", "good", "bad", "where"), SCHEMA_CASES)
def test_named_schemas_accept_good_and_reject_bad_payloads(
    spec: str, schema: str, good: Any, bad: Any, where: str
) -> None:
    validate_schema(spec, schema, good)
    with pytest.raises(SpecMismatch) as mismatch:
        validate_schema(spec, schema, bad)
    assert f"{spec}: {schema} value does not match the description" in str(mismatch.value)
    assert where in str(mismatch.value)


def test_slack_responses_use_the_success_and_the_default_error_schema() -> None:
    error = {"ok": False, "error": "channel_not_found"}
    validate_response("slack", "/api/chat.postMessage", "POST", 404, error)  # -> "default"
    with pytest.raises(SpecMismatch, match="at error: 'no_such_error' is not one of"):
        validate_response(
            "slack", "/chat.postMessage", "POST", 500, {**error, "error": "no_such_error"}
        )
    with pytest.raises(SpecMismatch, match="'channel' is a required property"):
        validate_response("slack", "/chat.postMessage", "POST", 200, {"ok": True, "ts": "1.2"})


def test_dropbox_route_errors_follow_the_routes_error_union() -> None:
    route = "/2/files/create_folder_v2"
    conflict = {".tag": "path", "path": {".tag": "conflict", "conflict": {".tag": "folder"}}}
    validate_response(
        "dropbox", route, "POST", 409, {"error_summary": "path/conflict/..", "error": conflict}
    )
    with pytest.raises(SpecMismatch, match="409 body does not match"):
        validate_response("dropbox", route, "POST", 409, {"error": conflict})


def test_slack_event_envelopes() -> None:
    envelope = {
        "token": "XXYYZZ",
        "team_id": "T0001",
        "api_app_id": "A0001",
        "event": {
            "type": "app_mention",
            "text": "<@U0BOT> hi",
            "user": "U1",
            "ts": "1.2",
            "event_ts": "1.2",
        },
        "type": "event_callback",
        "event_id": "Ev0001",
        "event_time": 1700000000,
        "authed_users": ["U0BOT"],
    }
    validate_slack_event_envelope(envelope)
    with pytest.raises(SpecMismatch, match="event envelope does not match"):
        validate_slack_event_envelope({**envelope, "event_time": "yesterday"})


# --- finding operations ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "method", "path", "template"),
    [
        ("trello", "POST", "/1/cards", "/cards"),
        ("trello", "POST", "/cards", "/cards"),
        ("trello", "PUT", f"/1/cards/{TRELLO_CARD}", "/cards/{id}"),
        (
            "trello",
            "POST",
            f"/cards/{TRELLO_CARD}/actions/comments",
            "/cards/{id}/actions/comments",
        ),
        ("asana", "GET", "/api/1.0/projects/12/tasks", "/projects/{project_gid}/tasks"),
        ("asana", "PUT", "/tasks/{task_gid}", "/tasks/{task_gid}"),
        (
            "github",
            "PATCH",
            "/repos/acme/api/issues/3",
            "/repos/{owner}/{repo}/issues/{issue_number}",
        ),
        (
            "github",
            "GET",
            "https://api.github.com/repos/acme/api/pulls?state=all",
            "/repos/{owner}/{repo}/pulls",
        ),
        ("slack", "POST", "/api/chat.update", "/chat.update"),
        ("slack", "POST", "/users.info", "/users.info"),  # documented as GET; Slack takes both
        (
            "google_calendar",
            "DELETE",
            "/calendar/v3/calendars/primary/events/e1",
            "/calendar/v3/calendars/{calendarId}/events/{eventId}",
        ),
        ("google_drive", "POST", "/upload/drive/v3/files", "/upload/drive/v3/files"),
        ("dropbox", "POST", "/2/files/list_folder/continue", "/2/files/list_folder/continue"),
        ("openai", "POST", "/v1/chat/completions", "/chat/completions"),
    ],
)
def test_operations_are_found_from_concrete_paths_and_templates(
    spec: str, method: str, path: str, template: str
) -> None:
    operation = find_operation(spec, method, path)
    assert (operation.spec, operation.template) == (spec, template)


def test_the_most_specific_template_wins() -> None:
    comments = find_operation("github", "POST", "/repos/acme/api/issues/3/comments")
    assert comments.template == "/repos/{owner}/{repo}/issues/{issue_number}/comments"
    labels = find_operation("github", "POST", "/repos/acme/api/issues/3/labels")
    assert labels.template == "/repos/{owner}/{repo}/issues/{issue_number}/labels"


def test_an_undocumented_path_or_method_names_what_is_documented() -> None:
    with pytest.raises(SpecMismatch) as wrong_prefix:
        find_operation("trello", "POST", "/2/cards")
    assert "trello: POST /2/cards is not documented" in str(wrong_prefix.value)
    assert "POST /cards" in str(wrong_prefix.value)
    with pytest.raises(SpecMismatch, match="DELETE /repos/acme/api/issues is not documented"):
        find_operation("github", "DELETE", "/repos/acme/api/issues")
    with pytest.raises(SpecMismatch, match="is not documented"):
        find_operation("github", "GET", "/repos/acme/api/issues/3/timeline")


def test_an_undocumented_status_names_the_documented_ones() -> None:
    with pytest.raises(SpecMismatch) as mismatch:
        validate_response("github", "/repos/acme/api/issues", "POST", 418, {})
    assert str(mismatch.value) == (
        "github: POST /repos/{owner}/{repo}/issues documents no response for status 418 "
        "(documented: 201, 400, 403, 404, 410, 422, 503)"
    )


def test_a_response_documented_without_a_body_must_have_none() -> None:
    validate_response(
        "google_calendar", "/calendar/v3/calendars/primary/events/e1", "DELETE", 204, None
    )
    with pytest.raises(SpecMismatch, match="documents no body for status 204"):
        validate_response(
            "google_calendar", "/calendar/v3/calendars/primary/events/e1", "DELETE", 204, {"x": 1}
        )


def test_an_unknown_schema_name_is_a_mismatch() -> None:
    with pytest.raises(SpecMismatch, match="github: no schema named 'no-such-thing'"):
        validate_schema("github", "no-such-thing", {})


def test_mismatches_are_assertion_errors() -> None:
    assert issubclass(SpecMismatch, AssertionError)


# --- requests -----------------------------------------------------------------------------


def test_query_parameters_are_declared_typed_and_required() -> None:
    create = {"idList": TRELLO_CARD, "name": "Card", "key": "k", "token": "t"}
    assert_request_matches("trello", recorded("POST", "/1/cards", query=create))
    with pytest.raises(SpecMismatch, match="POST /cards declares no query parameter 'colour'"):
        assert_request_matches(
            "trello", recorded("POST", "/1/cards", query=create | {"colour": "red"})
        )
    with pytest.raises(SpecMismatch, match="POST /cards requires query parameter 'idList'"):
        assert_request_matches("trello", recorded("POST", "/1/cards", query={"name": "Card"}))
    per_page = {"per_page": "many"}
    with pytest.raises(SpecMismatch, match="query per_page='many' does not match"):
        assert_request_matches("github", recorded("GET", "/repos/acme/api/issues", query=per_page))
    assert_request_matches(
        "github", recorded("GET", "/repos/acme/api/issues", query={"per_page": "100"})
    )


def test_json_request_bodies_are_checked_against_the_request_schema() -> None:
    json_type = {"content-type": "application/json"}
    good = recorded("POST", "/repos/acme/api/issues", headers=json_type, body=b'{"title": "Bug"}')
    assert_request_matches("github", good)
    untitled = recorded("POST", "/repos/acme/api/issues", headers=json_type, body=b'{"body": "x"}')
    with pytest.raises(
        SpecMismatch, match=r"request body does not match(.|\n)*'title' is a required"
    ):
        assert_request_matches("github", untitled)
    with pytest.raises(
        SpecMismatch, match=re.escape("POST /repos/{owner}/{repo}/issues requires a request body")
    ):
        assert_request_matches("github", recorded("POST", "/repos/acme/api/issues"))
    with pytest.raises(SpecMismatch, match="documents no text/csv request body"):
        validate_request_body("github", "/repos/acme/api/issues", "POST", "a,b", "text/csv")


def test_slack_arguments_may_be_form_fields_or_json_keys() -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    path = "/api/chat.postMessage"
    assert_request_matches(
        "slack", recorded("POST", path, headers=form, body=b"channel=C1&text=hi")
    )
    blocks = b'{"channel": "C1", "blocks": [{"type": "divider"}], "mrkdwn": true}'
    json_type = {"content-type": "application/json"}
    assert_request_matches("slack", recorded("POST", path, headers=json_type, body=blocks))
    with pytest.raises(SpecMismatch, match=r"chat\.postMessage requires argument 'channel'"):
        assert_request_matches("slack", recorded("POST", path, headers=form, body=b"text=hi"))
    with pytest.raises(SpecMismatch, match="declares no argument 'colour'"):
        assert_request_matches(
            "slack", recorded("POST", path, headers=form, body=b"channel=C1&colour=red")
        )


def test_dropbox_uploads_carry_their_argument_in_a_header() -> None:
    path = "/2/files/upload"
    octets = {"content-type": "application/octet-stream"}
    arg = {"Dropbox-API-Arg": '{"path": "/Reports/q3.txt", "mode": "add"}'}
    assert_request_matches("dropbox", recorded("POST", path, headers=octets | arg, body=b"data"))
    with pytest.raises(SpecMismatch, match="/2/files/upload needs the Dropbox-API-Arg header"):
        assert_request_matches("dropbox", recorded("POST", path, headers=octets, body=b"data"))
    pathless = {"Dropbox-API-Arg": '{"mode": "add"}'}
    with pytest.raises(SpecMismatch, match="Dropbox-API-Arg header does not match"):
        assert_request_matches(
            "dropbox", recorded("POST", path, headers=octets | pathless, body=b"data")
        )


def test_google_uploads_take_media_bodies_unchecked() -> None:
    multipart = {"content-type": "multipart/related; boundary=x"}
    upload = recorded(
        "POST",
        "/upload/drive/v3/files",
        query={"uploadType": "multipart"},
        headers=multipart,
        body=b"--x--",
    )
    assert_request_matches("google_drive", upload)
    with pytest.raises(SpecMismatch, match="declares no query parameter 'colour'"):
        assert_request_matches(
            "google_drive", recorded("POST", "/upload/drive/v3/files", query={"colour": "red"})
        )


# --- OpenAPI 3.0 nullable -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "converted"),
    [
        pytest.param(
            {"type": "string", "nullable": True},
            {"anyOf": [{"type": "string"}, {"type": "null"}]},
            id="plain",
        ),
        pytest.param(
            {"allOf": [{"$ref": "#/User"}, {"nullable": True}]},
            {"anyOf": [{"allOf": [{"$ref": "#/User"}]}, {"type": "null"}]},
            id="allOf-flag",
        ),
        pytest.param(
            {"allOf": [{"$ref": "#/User"}, {"readOnly": True, "nullable": True}]},
            {"anyOf": [{"allOf": [{"$ref": "#/User"}, {"readOnly": True}]}, {"type": "null"}]},
            id="allOf-readOnly-flag",
        ),
        pytest.param(
            {"allOf": [{"$ref": "#/Task"}, {"type": "object", "nullable": True}]},
            {"anyOf": [{"allOf": [{"$ref": "#/Task"}, {"type": "object"}]}, {"type": "null"}]},
            id="allOf-object-flag",
        ),
        pytest.param({"type": "string", "nullable": False}, {"type": "string"}, id="not-nullable"),
        pytest.param(
            {"type": "object", "properties": {"nullable": {"type": "boolean"}}},
            {"type": "object", "properties": {"nullable": {"type": "boolean"}}},
            id="a-property-named-nullable",
        ),
        pytest.param(
            {"type": "array", "items": {"type": "integer", "nullable": True}},
            {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "null"}]}},
            id="nested",
        ),
    ],
)
def test_oas30_nullable_becomes_or_null(schema: dict[str, Any], converted: dict[str, Any]) -> None:
    assert oas30_to_jsonschema(schema) == converted


def test_a_nullable_allof_member_admits_null_and_still_checks_the_rest() -> None:
    schema = oas30_to_jsonschema(
        {"allOf": [{"type": "object", "required": ["gid"]}, {"readOnly": True, "nullable": True}]}
    )
    validator = jsonschema.Draft4Validator(schema)
    assert validator.is_valid(None) and validator.is_valid({"gid": "1"})
    assert not validator.is_valid({}) and not validator.is_valid(5)
