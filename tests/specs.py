"""Check requests and responses against the services' official API descriptions.

The descriptions live in `../shared/specs` beside the repository (override with the
environment variable ATOM_SPECS_DIR); their README explains each format. This module
hides the formats behind one vocabulary:

    validate_response("github", "/repos/acme/api/issues", "POST", 201, body)
    assert_request_matches("github", emulator.received(method="POST")[0])
    validate_schema("github", "issue", body)

`spec_name` is the file name without `.json` ("github", "slack", "gmail", "dropbox", …).
Paths may be concrete (`/repos/acme/api/issues/3`) or templates as the spec spells them,
with or without the server's path prefix (`/1/cards` and `/cards` both find Trello's
`POST /cards`). A mismatch raises `SpecMismatch` (an AssertionError) that says what
differs, so tests read as plain asserts.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import jsonschema
import referencing
import referencing.jsonschema

SPECS_DIR = Path(
    os.environ.get("ATOM_SPECS_DIR")
    or Path(__file__).resolve().parents[1] / ".." / "shared" / "specs"
)
_URN = "urn:atom-spec"


class SpecMismatch(AssertionError):
    """A request or response that the official description does not allow."""


class RecordedRequestLike(Protocol):
    """What `assert_request_matches` reads (sandbox.emulator.RecordedRequest fits)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


# --- operations ----------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # query | path | header | formData | body
    required: bool
    schema: dict[str, Any]  # a JSON Schema, possibly a {"$ref": …} into the document


@dataclass(frozen=True)
class Operation:
    """One documented endpoint, whatever the description format."""

    spec: str
    method: str
    template: str  # as the description spells it (for Dropbox: the route URL path)
    parameters: tuple[Parameter, ...]
    bodies: Mapping[str, dict[str, Any]]  # media type -> schema of the request body
    responses: Mapping[str, dict[str, Any] | None]  # "201" / "4XX" / "default" -> schema
    body_required: bool = False
    header_arg: tuple[str, dict[str, Any]] | None = None  # Dropbox uploads: (header, schema)
    _pattern: re.Pattern[str] = field(default=re.compile(""), compare=False, repr=False)

    def match(self, path: str) -> bool:
        return self._pattern.fullmatch(path) is not None

    def response_schema(self, status: int) -> dict[str, Any] | None:
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            if key in self.responses:
                return self.responses[key]
        documented = ", ".join(self.responses) or "none"
        raise SpecMismatch(
            f"{self.spec}: {self.method} {self.template} documents no response for status "
            f"{status} (documented: {documented})"
        )


def _template_pattern(template: str) -> re.Pattern[str]:
    """`/repos/{owner}/{repo}` -> a regex; `{+name}` (Google) may span slashes."""
    parts = re.split(r"(\{\+?[^}]+\})", template)
    regex = "".join(
        ("(.+)" if part.startswith("{+") else "([^/]+)")
        if part.startswith("{")
        else re.escape(part)
        for part in parts
    )
    return re.compile(regex)


def _status_key(status: str) -> str:
    return status if status == "default" else status.upper()


def _operation(template: str, **fields: Any) -> Operation:
    return Operation(template=template, _pattern=_template_pattern(template), **fields)


# --- the formats ---------------------------------------------------------------------


class _Format:
    """A loaded description: its operations, path prefixes and a validator factory."""

    validator_class: type[jsonschema.protocols.Validator] = jsonschema.Draft4Validator
    draft: referencing.Specification[Any] = referencing.jsonschema.DRAFT4

    def __init__(self, name: str, document: dict[str, Any]) -> None:
        self.name = name
        self.document = document
        self.registry: referencing.Registry[Any] = referencing.Registry().with_resource(
            _URN, referencing.Resource.from_contents(document, default_specification=self.draft)
        )
        self.operations: list[Operation] = sorted(
            self.build_operations(), key=lambda op: op.template.count("{")
        )

    def build_operations(self) -> Iterator[Operation]:
        raise NotImplementedError

    def prefixes(self) -> list[str]:
        return [""]

    def component_pointer(self, name: str) -> str:
        raise NotImplementedError

    def methods_match(self, documented: str, requested: str) -> bool:
        return documented == requested

    def validate(self, schema: dict[str, Any], instance: Any, what: str) -> None:
        validator = self.validator_class(schema, registry=self.registry)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            details = "\n".join(
                f"  at {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}"
                for e in errors[:10]
            )
            raise SpecMismatch(f"{self.name}: {what} does not match the description:\n{details}")

    def find(self, method: str, path: str) -> Operation:
        method = method.upper()
        path = urlsplit(path).path or path
        for prefix in self.prefixes():
            if prefix and not path.startswith(prefix + "/"):
                continue
            relative = path[len(prefix) :]
            for op in self.operations:
                if self.methods_match(op.method, method) and op.match(relative):
                    return op
        known = ", ".join(sorted({f"{op.method} {op.template}" for op in self.operations}))
        raise SpecMismatch(f"{self.name}: {method} {path} is not documented (documented: {known})")

    def deref(self, pointer: str) -> tuple[str, Any]:
        """Follow `$ref`s of non-schema objects (responses, parameters, request bodies)."""
        node = _resolve_pointer(self.document, pointer)
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            pointer = node["$ref"].removeprefix("#")
            node = _resolve_pointer(self.document, pointer)
        return pointer, node


def _ref(pointer: str) -> dict[str, Any]:
    return {"$ref": f"{_URN}#{pointer}"}


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _resolve_pointer(document: Any, pointer: str) -> Any:
    node = document
    for token in pointer.lstrip("/").split("/") if pointer else []:
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


class _OpenApi(_Format):
    """OpenAPI 3.0 (nullable converted) and 3.1 (JSON Schema 2020-12 as is)."""

    def __init__(self, name: str, document: dict[str, Any]) -> None:
        if document["openapi"].startswith("3.1"):
            self.validator_class = jsonschema.Draft202012Validator
            self.draft = referencing.jsonschema.DRAFT202012
        else:
            document = oas30_to_jsonschema(document)
        super().__init__(name, document)

    def prefixes(self) -> list[str]:
        servers = self.document.get("servers", [])
        paths = {urlsplit(server["url"]).path.rstrip("/") for server in servers}
        return sorted(paths | {""}, key=len, reverse=True)

    def component_pointer(self, name: str) -> str:
        return f"/components/schemas/{_escape(name)}"

    def build_operations(self) -> Iterator[Operation]:
        credentials = self._query_credentials()
        for template, item in self.document["paths"].items():
            base = f"/paths/{_escape(template)}"
            shared = item.get("parameters", [])
            for method, op in item.items():
                if method == "parameters" or not isinstance(op, dict):
                    continue
                pointer = f"{base}/{method}"
                params = [self._parameter(f"{base}/parameters/{i}") for i in range(len(shared))] + [
                    self._parameter(f"{pointer}/parameters/{i}")
                    for i in range(len(op.get("parameters", [])))
                ]
                bodies, body_required = self._bodies(f"{pointer}/requestBody", op)
                yield _operation(
                    template,
                    spec=self.name,
                    method=method.upper(),
                    parameters=(*params, *credentials),
                    bodies=bodies,
                    body_required=body_required,
                    responses=self._responses(f"{pointer}/responses", op),
                )

    def _query_credentials(self) -> list[Parameter]:
        """API keys sent as query parameters (Trello's `key` and `token`)."""
        schemes = self.document.get("components", {}).get("securitySchemes", {})
        return [
            Parameter(scheme["name"], "query", False, {"type": "string"})
            for scheme in schemes.values()
            if scheme.get("type") == "apiKey" and scheme.get("in") == "query"
        ]

    def _parameter(self, pointer: str) -> Parameter:
        pointer, node = self.deref(pointer)
        return Parameter(
            name=node["name"],
            location=node["in"],
            required=bool(node.get("required")),
            schema=_ref(f"{pointer}/schema") if "schema" in node else {},
        )

    def _bodies(self, pointer: str, op: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        if "requestBody" not in op:
            return {}, False
        pointer, node = self.deref(pointer)
        bodies = {
            media: _ref(f"{pointer}/content/{_escape(media)}/schema")
            for media, content in node.get("content", {}).items()
            if "schema" in content
        }
        return bodies, bool(node.get("required"))

    def _responses(self, pointer: str, op: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
        responses: dict[str, dict[str, Any] | None] = {}
        for status in op.get("responses", {}):
            resolved, node = self.deref(f"{pointer}/{_escape(status)}")
            content = node.get("content", {})
            media = next((m for m in content if "json" in m), None)
            has_schema = media is not None and "schema" in content[media]
            responses[_status_key(status)] = (
                _ref(f"{resolved}/content/{_escape(media)}/schema") if has_schema else None
            )
        return responses


class _Swagger2(_Format):
    """Slack's Web API (Swagger 2.0). Slack accepts GET and POST for every method."""

    def __init__(self, name: str, document: dict[str, Any]) -> None:
        self.full_document = document
        super().__init__(name, document["web_api"])

    def prefixes(self) -> list[str]:
        return [self.document.get("basePath", "").rstrip("/"), ""]

    def component_pointer(self, name: str) -> str:
        return f"/definitions/{_escape(name)}"

    def methods_match(self, documented: str, requested: str) -> bool:
        return requested in (documented, "GET", "POST")

    def build_operations(self) -> Iterator[Operation]:
        for template, item in self.document["paths"].items():
            for method, op in item.items():
                pointer = f"/paths/{_escape(template)}/{method}"
                params = []
                for i, node in enumerate(op.get("parameters", [])):
                    schema_pointer = f"{pointer}/parameters/{i}"
                    schema = (
                        _ref(f"{schema_pointer}/schema")
                        if node.get("in") == "body"
                        else _swagger_parameter_schema(node)
                    )
                    params.append(
                        Parameter(node["name"], node["in"], bool(node.get("required")), schema)
                    )
                responses = {
                    _status_key(status): _ref(f"{pointer}/responses/{_escape(status)}/schema")
                    if "schema" in response
                    else None
                    for status, response in op.get("responses", {}).items()
                }
                yield _operation(
                    template,
                    spec=self.name,
                    method=method.upper(),
                    parameters=tuple(params),
                    bodies={},
                    responses=responses,
                )


def _swagger_parameter_schema(node: dict[str, Any]) -> dict[str, Any]:
    keys = ("type", "format", "enum", "items", "minimum", "maximum", "pattern")
    return {key: node[key] for key in keys if key in node}


class _GoogleDiscovery(_Format):
    """A Google API Discovery document; `$ref`s are bare schema names."""

    def __init__(self, name: str, document: dict[str, Any]) -> None:
        super().__init__(name, {**document, "schemas": _google_refs(document["schemas"])})

    def component_pointer(self, name: str) -> str:
        return f"/schemas/{_escape(name)}"

    def build_operations(self) -> Iterator[Operation]:
        service_path = self.document["servicePath"]
        shared = [
            _google_parameter(name, node) for name, node in self.document["parameters"].items()
        ]
        for method in _google_methods(self.document):
            params = tuple(
                shared
                + [_google_parameter(name, node) for name, node in method["parameters"].items()]
            )
            bodies = (
                {"application/json": _ref(self.component_pointer(method["request"]["$ref"]))}
                if "request" in method
                else {}
            )
            success = (
                _ref(self.component_pointer(method["response"]["$ref"]))
                if "response" in method
                else None
            )
            common = {
                "spec": self.name,
                "method": method["httpMethod"],
                "parameters": params,
                "responses": {"2XX": success},
            }
            yield _operation(
                "/" + service_path + method["path"],
                bodies=bodies,
                body_required="request" in method,
                **common,
            )
            for protocol in method.get("mediaUpload", {}).get("protocols", {}).values():
                # Upload bodies are media or multipart/related: not a JSON document.
                yield _operation(protocol["path"], bodies={}, **common)


def _google_methods(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from node.get("methods", {}).values()
    for resource in node.get("resources", {}).values():
        yield from _google_methods(resource)


def _google_parameter(name: str, node: dict[str, Any]) -> Parameter:
    keys = ("type", "format", "enum", "pattern")
    schema: dict[str, Any] = {key: node[key] for key in keys if key in node}
    for bound in ("minimum", "maximum"):
        if bound in node:
            schema[bound] = float(node[bound])
    return Parameter(name, node["location"], bool(node.get("required")), schema)


def _google_refs(node: Any) -> Any:
    if isinstance(node, list):
        return [_google_refs(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: (f"#/schemas/{value}" if key == "$ref" else _google_refs(value))
        for key, value in node.items()
    }


class _Dropbox(_Format):
    """Dropbox's Stone routes, validated through the JSON Schema rendering."""

    validator_class = jsonschema.Draft202012Validator
    draft = referencing.jsonschema.DRAFT202012

    def __init__(self, name: str, document: dict[str, Any]) -> None:
        self.routes = document["routes"]
        super().__init__(name, document["json_schema"])

    def component_pointer(self, name: str) -> str:
        return f"/definitions/{_escape(name)}"

    def build_operations(self) -> Iterator[Operation]:
        for route in self.routes:
            arg = _ref(self.component_pointer(route["arg"]["ref"])) if route.get("arg") else {}
            upload = route["attrs"]["style"] == "upload"
            error = {
                "type": "object",
                "required": ["error_summary", "error"],
                "properties": {
                    "error_summary": {"type": "string"},
                    "error": _ref(self.component_pointer(route["error"]["ref"])),
                },
            }
            yield _operation(
                urlsplit(route["url"]).path,
                spec=self.name,
                method=route["http_method"],
                parameters=(),
                bodies={} if upload or not arg else {"application/json": arg},
                body_required=bool(arg) and not upload,
                header_arg=("Dropbox-API-Arg", arg) if upload and arg else None,
                responses={
                    "200": _ref(self.component_pointer(route["result"]["ref"])),
                    "409": error,
                },
            )


def oas30_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 `nullable` turned into JSON Schema "or null": plain `nullable: true`,
    and Asana's nullable references, where an `allOf` member carries the flag
    (`allOf: [{$ref}, {nullable: true}]`, or `{readOnly: true, nullable: true}`, or an
    object schema with `nullable: true`): the whole `allOf` may then be null."""
    if isinstance(node, list):
        return [oas30_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    nullable = node.get("nullable") is True
    members = node.get("allOf")
    if isinstance(members, list) and any(_flagged_nullable(m) for m in members):
        nullable = True
        stripped = [_without_nullable(m) if _flagged_nullable(m) else m for m in members]
        node = {**node, "allOf": [m for m in stripped if m != {}]}
    node = {
        key: oas30_to_jsonschema(value)
        for key, value in node.items()
        if not (key == "nullable" and isinstance(value, bool))
    }
    return {"anyOf": [node, {"type": "null"}]} if nullable else node


def _flagged_nullable(member: Any) -> bool:
    return isinstance(member, dict) and member.get("nullable") is True


def _without_nullable(member: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in member.items() if key != "nullable"}


# --- loading -------------------------------------------------------------------------


def load_spec(spec_name: str) -> dict[str, Any]:
    """The raw description document (shared: do not modify it)."""
    return _load_document(spec_name)


@cache
def _load_document(spec_name: str) -> dict[str, Any]:
    path = SPECS_DIR / f"{spec_name}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"no API description {path}; set ATOM_SPECS_DIR to the shared/specs directory"
        )
    return json.loads(path.read_text())


@cache
def _spec(spec_name: str) -> _Format:
    document = _load_document(spec_name)
    if "openapi" in document:
        return _OpenApi(spec_name, document)
    if "web_api" in document:
        return _Swagger2(spec_name, document)
    if document.get("kind") == "discovery#restDescription":
        return _GoogleDiscovery(spec_name, document)
    if "routes" in document and "json_schema" in document:
        return _Dropbox(spec_name, document)
    raise ValueError(f"{spec_name}.json: unknown description format")


# --- the public checks ---------------------------------------------------------------


def find_operation(spec_name: str, method: str, path: str) -> Operation:
    """The documented operation serving `method path` (raises SpecMismatch if none)."""
    return _spec(spec_name).find(method, path)


def validate_schema(spec_name: str, schema_name: str, instance: Any) -> None:
    """Validate `instance` against a named schema of the description: an OpenAPI
    component (`issue`), a Swagger definition (`objs_message`), a Google schema
    (`Event`) or a Dropbox type (`files.FileMetadata`)."""
    spec = _spec(spec_name)
    pointer = spec.component_pointer(schema_name)
    try:
        _resolve_pointer(spec.document, pointer)
    except (KeyError, IndexError) as exc:
        raise SpecMismatch(f"{spec_name}: no schema named {schema_name!r}") from exc
    spec.validate(_ref(pointer), instance, f"{schema_name} value")


def validate_response(spec_name: str, path: str, method: str, status: int, body: Any) -> Operation:
    """Validate a response body against the operation's documented response for
    `status` (or its `4XX`/`default` entry). Raises SpecMismatch if the status is not
    documented or the body does not match; returns the operation."""
    spec = _spec(spec_name)
    op = spec.find(method, path)
    schema = op.response_schema(status)
    if schema is None:
        if body not in (None, b"", ""):
            raise SpecMismatch(
                f"{spec_name}: {op.method} {op.template} documents no body for status {status}"
            )
        return op
    spec.validate(schema, body, f"{op.method} {op.template} -> {status} body")
    return op


def validate_request_body(
    spec_name: str, path: str, method: str, body: Any, media_type: str = "application/json"
) -> Operation:
    """Validate a request body (already decoded: a JSON value or a form dict)."""
    spec = _spec(spec_name)
    op = spec.find(method, path)
    _check_body(spec, op, media_type, body)
    return op


def assert_request_matches(spec_name: str, request: RecordedRequestLike) -> Operation:
    """A recorded request uses a documented path and method, sends only declared query
    parameters (with valid values) and every required one, and carries a body (JSON,
    form or Dropbox arg header) that matches the documented request schema."""
    spec = _spec(spec_name)
    op = spec.find(request.method, request.path)
    params = {p.name: p for p in op.parameters}
    query_locations = ("query", "formData") if isinstance(spec, _Swagger2) else ("query",)
    for name, value in request.query.items():
        param = params.get(name)
        if param is None or param.location not in query_locations:
            raise SpecMismatch(
                f"{spec_name}: {op.method} {op.template} declares no query parameter {name!r}"
            )
        spec.validate(
            param.schema, _coerce(value, _schema_of(spec, param.schema)), f"query {name}={value!r}"
        )
    for param in op.parameters:
        if param.required and param.location == "query" and param.name not in request.query:
            raise SpecMismatch(
                f"{spec_name}: {op.method} {op.template} requires query parameter {param.name!r}"
            )
    _check_request_payload(spec, op, request)
    return op


def validate_slack_event_envelope(envelope: Any) -> None:
    """An Events API `event_callback` envelope against Slack's published wrapper schema."""
    document = _load_document("slack")["event_wrapper_schema"]
    errors = list(jsonschema.Draft4Validator(document).iter_errors(envelope))
    if errors:
        raise SpecMismatch(f"slack: event envelope does not match: {errors[0].message}")


# --- helpers -------------------------------------------------------------------------


def _check_request_payload(spec: _Format, op: Operation, request: RecordedRequestLike) -> None:
    headers = {k.lower(): v for k, v in request.headers.items()}
    if op.header_arg:
        header, schema = op.header_arg
        raw = headers.get(header.lower())
        if raw is None:
            raise SpecMismatch(f"{spec.name}: {op.template} needs the {header} header")
        spec.validate(schema, json.loads(raw), f"{header} header")
        return
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if not request.body:
        if op.body_required:
            raise SpecMismatch(f"{spec.name}: {op.method} {op.template} requires a request body")
        return
    if media_type == "application/json":
        body: Any = json.loads(request.body)
    elif media_type == "application/x-www-form-urlencoded":
        body = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
    else:
        if op.bodies and media_type not in op.bodies:
            raise SpecMismatch(
                f"{spec.name}: {op.method} {op.template} documents bodies of "
                f"{sorted(op.bodies)}, not {media_type!r}"
            )
        return  # binary/multipart payloads have no JSON schema to check
    _check_body(spec, op, media_type, body)


def _check_body(spec: _Format, op: Operation, media_type: str, body: Any) -> None:
    what = f"{op.method} {op.template} request body"
    if isinstance(spec, _Swagger2):
        _check_swagger_fields(spec, op, body)
        return
    schema = op.bodies.get(media_type)
    if schema is None:
        raise SpecMismatch(
            f"{spec.name}: {op.method} {op.template} documents no {media_type} request body "
            f"(documented: {sorted(op.bodies) or 'none'})"
        )
    if media_type == "application/x-www-form-urlencoded":
        body = _coerce_form(spec, schema, body)
    spec.validate(schema, body, what)


def _check_swagger_fields(spec: _Format, op: Operation, body: Any) -> None:
    """Slack takes each argument as a form field or a JSON key of the same name."""
    if not isinstance(body, dict):
        raise SpecMismatch(f"{spec.name}: {op.template} expects an object of arguments")
    fields = {p.name: p for p in op.parameters if p.location in ("formData", "query")}
    for name, value in body.items():
        param = fields.get(name)
        if param is None:
            raise SpecMismatch(f"{spec.name}: {op.template} declares no argument {name!r}")
        if isinstance(value, str):
            value = _coerce(value, param.schema)
        elif param.schema.get("type") == "string" and isinstance(value, list | dict):
            value = json.dumps(value)  # JSON bodies may carry blocks/attachments as arrays
        spec.validate(param.schema, value, f"argument {name}")
    for param in fields.values():
        if param.required and param.name not in body:
            raise SpecMismatch(f"{spec.name}: {op.template} requires argument {param.name!r}")


def _schema_of(spec: _Format, schema: dict[str, Any]) -> dict[str, Any]:
    """Follow `$ref`s to the schema object itself (for type-directed coercion)."""
    while isinstance(schema.get("$ref"), str):
        schema = _resolve_pointer(spec.document, schema["$ref"].split("#", 1)[1])
    return schema


def _coerce_form(spec: _Format, schema: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    properties = _schema_of(spec, schema).get("properties", {})
    return {
        key: _coerce(value, _schema_of(spec, properties.get(key, {})))
        for key, value in form.items()
    }


_SCALARS: dict[str, Callable[[str], Any]] = {"integer": int, "number": float}


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    """A query/form string as the type its schema declares (validation then checks it)."""
    kind = schema.get("type")
    if kind == "array":
        return [_coerce(item, schema.get("items", {})) for item in value.split(",")]
    if kind == "boolean":
        return {"true": True, "false": False}.get(value, value)
    if kind in _SCALARS:
        try:
            return _SCALARS[kind](value)
        except ValueError:
            return value
    return value
