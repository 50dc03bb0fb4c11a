"""The OpenAI API on 127.0.0.1: `POST /v1/chat/completions` with scripted answers.

The emulator does not think: a test (or `atom shell`) queues the replies the "model"
gives, in order, and the emulator wraps each in the real wire format:

    openai = OpenAIEmulator().start()
    openai.script(Reply.json({"workflow": {...}, "question": None}))
    openai.script(Reply.refused("I can't help with that."))
    openai.script(Reply.text("not JSON at all"))

What it checks is what the real API checks before a model runs: the bearer key, the
request body (`model`, a non-empty `messages` list of role/content messages), and, for
`response_format: {"type": "json_schema", "strict": true}`, that the schema is in the
subset strict mode supports (every object closes `additionalProperties` and lists every
property in `required`; no `minLength`/`maxLength`/`uniqueItems`/…; a `$ref` must
resolve). Those failures get OpenAI's 400 bodies, word for word where OpenAI's are known.
Every request is recorded (`emulator.received()`), so tests can read what the planner
sent. Rate limits, outages and slowness come from the base class's fault injection:
`emulator.fail("/v1/chat/completions", status=429, retry_after=2)`,
`emulator.fail(kind="delay", delay=5)`.

Wire shapes follow OpenAI's published description (`shared/specs/openai.json`,
`CreateChatCompletionResponse`, `ErrorResponse`).
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from sandbox.emulator import Emulator, EmulatorError

FinishReason = Literal["stop", "length", "content_filter"]

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    429: "requests",
}
ERROR_CODES = {401: "invalid_api_key", 429: "rate_limit_exceeded"}
SERVER_ERROR = "The server had an error while processing your request. Sorry about that!"

# Keywords strict structured outputs refuse (OpenAI "Supported schemas" guide).
STRICT_UNSUPPORTED = (
    "minLength",
    "maxLength",
    "minProperties",
    "maxProperties",
    "patternProperties",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "uniqueItems",
    "contains",
    "minContains",
    "maxContains",
    "allOf",
    "not",
    "if",
    "then",
    "else",
    "dependentRequired",
    "dependentSchemas",
)
STRICT_TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}
MESSAGE_ROLES = {"system", "developer", "user", "assistant", "tool", "function"}


@dataclass(frozen=True)
class Reply:
    """One scripted answer of the model: text content, or a refusal."""

    content: str | None = None
    refusal: str | None = None
    finish_reason: FinishReason = "stop"

    @classmethod
    def json(cls, value: Any) -> Reply:
        """The model answers with this JSON value (what strict structured outputs give)."""
        return cls(content=json.dumps(value))

    @classmethod
    def text(cls, text: str, finish_reason: FinishReason = "stop") -> Reply:
        """The model answers with raw text (e.g. garbage, or JSON cut off by `length`)."""
        return cls(content=text, finish_reason=finish_reason)

    @classmethod
    def refused(cls, message: str) -> Reply:
        """The model refuses (structured outputs then set `refusal`, not `content`)."""
        return cls(refusal=message)


Responder = Callable[[dict[str, Any]], Reply]
"""Answers a chat request body when no scripted reply is queued."""


class OpenAIEmulator(Emulator):
    name = "openai"

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.responder: Responder | None = None
        self.api_key = f"sk-sandbox-{secrets.token_hex(16)}"
        self._ids: Iterator[int] = itertools.count(1)
        super().__init__()
        self.grant(self.api_key, "sandbox")

    def routes(self) -> list[BaseRoute]:
        return [Route("/v1/chat/completions", self._chat_completions, methods=["POST"])]

    def settings_overrides(self) -> dict[str, str]:
        return {"openai_base_url": f"{self.url}/v1", "openai_api_key": self.api_key}

    def error_body(self, status: int, message: str, **extra: Any) -> Any:
        if status >= 500:
            message = SERVER_ERROR
        return {
            "error": {
                "message": message,
                "type": ERROR_TYPES.get(status, "server_error"),
                "param": extra.get("param"),
                "code": extra.get("code", ERROR_CODES.get(status)),
            }
        }

    # --- scripting and inspection ------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Queue the model's next answers, in order."""
        with self.lock:
            self.replies.extend(replies)

    def chat_requests(self) -> list[dict[str, Any]]:
        """The JSON bodies of every chat completion request received, in order."""
        return [r.json() for r in self.received("/v1/chat/completions", "POST")]

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        with self.lock:
            if self.replies:
                return self.replies.popleft()
        if self.responder is not None:
            return self.responder(body)
        raise EmulatorError(
            500,
            "The OpenAI emulator has no scripted reply for this request: queue one with "
            "`emulator.script(Reply...)` or set `emulator.responder`.",
        )

    # --- the endpoint ------------------------------------------------------------------

    async def _chat_completions(self, request: Request) -> JSONResponse:
        self._authenticate(request)
        body = await _json_body(request)
        check_chat_request(body)
        reply = self._next_reply(body)
        return JSONResponse(self._completion(body, reply))

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        key = header.removeprefix("Bearer ").strip()
        if not header.startswith("Bearer ") or not key:
            raise EmulatorError(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                code=None,
            )
        if key not in self.grants:
            raise EmulatorError(
                401,
                f"Incorrect API key provided: {_masked(key)}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
            )

    def _completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        """A chat.completion object; token counts are word counts (no tokenizer here)."""
        prompt_tokens = sum(_word_count(m.get("content")) for m in body["messages"])
        completion_tokens = _word_count(reply.content or reply.refusal)
        return {
            "id": f"chatcmpl-sandbox{next(self._ids):06d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "system_fingerprint": "fp_sandbox",
            "service_tier": "default",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": reply.finish_reason,
                    "logprobs": None,
                    "message": {
                        "role": "assistant",
                        "content": reply.content,
                        "refusal": reply.refusal,
                        "annotations": [],
                    },
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


# --- request checks (what OpenAI rejects before a model runs) ----------------------------


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        raise EmulatorError(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
            "but what was sent was not valid JSON.)",
        ) from exc
    if not isinstance(body, dict):
        raise EmulatorError(400, "The request body must be a JSON object.")
    return body


def check_chat_request(body: dict[str, Any]) -> None:
    """Raise the 400 OpenAI answers for a malformed chat completion request."""
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise EmulatorError(400, "you must provide a model parameter")
    messages = body.get("messages")
    if messages is None:
        raise EmulatorError(
            400,
            "Missing required parameter: 'messages'.",
            param="messages",
            code="missing_required_parameter",
        )
    if not isinstance(messages, list) or not messages:
        raise EmulatorError(
            400,
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but "
            "got an empty array instead.",
            param="messages",
            code="empty_array",
        )
    for index, message in enumerate(messages):
        _check_message(index, message)
    response_format = body.get("response_format")
    if response_format is not None:
        _check_response_format(response_format)


def _check_message(index: int, message: Any) -> None:
    if not isinstance(message, dict) or message.get("role") not in MESSAGE_ROLES:
        raise EmulatorError(
            400,
            f"Invalid value for 'messages[{index}].role': expected one of "
            f"{', '.join(sorted(MESSAGE_ROLES))}.",
            param=f"messages[{index}].role",
            code="invalid_value",
        )
    content = message.get("content")
    if message["role"] != "assistant" and not isinstance(content, str | list):
        raise EmulatorError(
            400,
            f"Missing required parameter: 'messages[{index}].content'.",
            param=f"messages[{index}].content",
            code="missing_required_parameter",
        )


def _check_response_format(response_format: Any) -> None:
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind in ("text", "json_object"):
        return
    if kind != "json_schema":
        raise EmulatorError(
            400,
            "Invalid value for 'response_format.type': expected one of 'text', "
            "'json_object' or 'json_schema'.",
            param="response_format.type",
            code="invalid_value",
        )
    spec = response_format.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise EmulatorError(
            400,
            "Missing required parameter: 'response_format.json_schema.name'.",
            param="response_format.json_schema.name",
            code="missing_required_parameter",
        )
    schema = spec.get("schema")
    if spec.get("strict") and isinstance(schema, dict):
        problem = strict_schema_problem(schema)
        if problem is not None:
            raise EmulatorError(
                400,
                f"Invalid schema for response_format '{spec['name']}': {problem}",
                param="response_format",
                code="invalid_json_schema",
            )


def strict_schema_problem(schema: dict[str, Any]) -> str | None:
    """Why OpenAI's strict mode would refuse `schema`, in its words, or None."""
    if schema.get("type") != "object" or "anyOf" in schema:
        got = schema.get("type")
        return f"schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{got}\"'."
    definitions = {**schema.get("$defs", {}), **schema.get("definitions", {})}
    return _strict_node_problem(schema, (), definitions)


def _strict_node_problem(
    node: Any, context: tuple[str, ...], definitions: dict[str, Any]
) -> str | None:
    if not isinstance(node, dict):
        return None
    where = f"In context={context!r}"
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if not ref.startswith("#") or (name not in definitions and ref != "#"):
            return f"{where}, reference {ref!r} can't be resolved."
    for keyword in STRICT_UNSUPPORTED:
        if keyword in node:
            return f"{where}, '{keyword}' is not permitted."
    types = node.get("type")
    for kind in types if isinstance(types, list) else [types] if types else []:
        if kind not in STRICT_TYPES:
            return f"{where}, type {kind!r} is not supported."
    if types == "object" or "properties" in node:
        problem = _strict_object_problem(node, where)
        if problem is not None:
            return problem
    return _strict_children_problem(node, context, definitions)


def _strict_object_problem(node: dict[str, Any], where: str) -> str | None:
    if node.get("additionalProperties") is not False:
        return f"{where}, 'additionalProperties' is required to be supplied and to be false."
    properties = node.get("properties", {})
    missing = [name for name in properties if name not in node.get("required", [])]
    if not isinstance(node.get("required"), list) or missing:
        return (
            f"{where}, 'required' is required to be supplied and to be an array including "
            f"every key in properties. Missing '{missing[0] if missing else ''}'."
        )
    return None


def _strict_children_problem(
    node: dict[str, Any], context: tuple[str, ...], definitions: dict[str, Any]
) -> str | None:
    children: list[tuple[tuple[str, ...], Any]] = []
    for name, prop in node.get("properties", {}).items():
        children.append(((*context, "properties", name), prop))
    if "items" in node:
        children.append(((*context, "items"), node["items"]))
    for index, option in enumerate(node.get("anyOf", [])):
        children.append(((*context, "anyOf", str(index)), option))
    for keyword in ("$defs", "definitions"):
        for name, definition in node.get(keyword, {}).items():
            children.append(((*context, keyword, name), definition))
    for child_context, child in children:
        problem = _strict_node_problem(child, child_context, definitions)
        if problem is not None:
            return problem
    return None


def _word_count(content: Any) -> int:
    if isinstance(content, list):  # content parts
        return sum(_word_count(part.get("text")) for part in content if isinstance(part, dict))
    return len(content.split()) if isinstance(content, str) else 0


def _masked(key: str) -> str:
    return f"{key[:3]}{'*' * 10}{key[-4:]}" if len(key) > 8 else "*" * len(key)
