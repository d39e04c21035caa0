"""The inbox's OpenAPI 3.1 document, served at ``/api/openapi.json``.

Hand-written rather than generated: the handlers validate by hand, so there are no models to
generate from, and a test checks that this document and the app's routes list the same paths
and methods, so neither can drift from the other unnoticed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_document"]

_STATUSES = ["queued", "running", "waiting_approval", "succeeded", "failed", "cancelled"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_UNAUTHORIZED = _error("No token, or a wrong one (`Authorization: Bearer <token>` or the session cookie).")
_BAD_HOST = _error("The Host header is not this server's loopback address (DNS-rebinding guard).")
_CSRF = _error(
    "Refused as cross-site: a foreign `Origin`, `Sec-Fetch-Site: cross-site`, or a "
    "cookie-authenticated request without the `X-Timestep-Inbox` header."
)
_RUN_ID = {
    "name": "run_id", "in": "path", "required": True, "schema": {"type": "string"},
    "description": "The run's id (may contain '/').",
}
_CALL_ID = {
    "name": "call_id", "in": "path", "required": True, "schema": {"type": "string"},
    "description": "The tool call's id, as listed in the run's `pending`.",
}
_CSRF_HEADER = {
    "name": "X-Timestep-Inbox", "in": "header", "required": False, "schema": {"type": "string"},
    "description": "Required (any value) when authenticating with the session cookie.",
}


def _decision_route(verb: str, body: str) -> dict[str, Any]:
    return {
        "post": {
            "operationId": f"{verb}Call",
            "summary": f"{verb.capitalize()} one pending tool call",
            "description": (
                "Sends the decision to the parked run, recorded with the reviewer's name and the "
                "time. A call that was already decided (by anyone, through any client) is refused "
                "with 409, never applied twice. `always` also covers the run's other pending calls "
                "of the same tool, and its future ones."
            ),
            "parameters": [_RUN_ID, _CALL_ID, _CSRF_HEADER],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(body)}}},
            "responses": {
                "200": _json("The decision was sent.", _ref("Decision")),
                "400": _error("The body is not a JSON object."),
                "401": _UNAUTHORIZED,
                "403": _CSRF,
                "404": _error("No such run, or the run has no pending call with this id."),
                "409": _error("The call was already decided, or the run has ended."),
                "413": _error("The body is larger than 64 KiB."),
                "415": _error("The body is not `application/json`."),
                "422": _error("A field is missing, of the wrong type, or unknown."),
            },
        }
    }


def openapi_document() -> dict[str, Any]:
    page = {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "timestep approval inbox",
            "version": "1",
            "description": (
                "Lists durable runs, shows pending tool approvals and lets reviewers decide them. "
                "Every route needs the token: `Authorization: Bearer <token>`, or the session "
                "cookie that `/login` sets in exchange for it. Errors are JSON "
                "`{\"error\": code, \"detail\": text}`; any route may answer 400 `bad_host` when "
                "the Host header is not the server's loopback address."
            ),
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/api/runs": {
                "get": {
                    "operationId": "listRuns",
                    "summary": "Recent runs, newest first",
                    "parameters": [
                        {"name": "status", "in": "query", "required": False,
                         "schema": {"type": "string", "enum": _STATUSES}},
                        {"name": "limit", "in": "query", "required": False,
                         "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
                    ],
                    "responses": {
                        "200": _json("The runs.", {"type": "object", "required": ["runs"],
                                                    "properties": {"runs": {"type": "array", "items": _ref("Run")}}}),
                        "400": _error("Unknown status or bad limit."),
                        "401": _UNAUTHORIZED,
                    },
                }
            },
            "/api/runs/{run_id}": {
                "get": {
                    "operationId": "getRun",
                    "summary": "One run: status, pending approvals, decisions, usage, output, error",
                    "parameters": [_RUN_ID],
                    "responses": {"200": _json("The run.", _ref("Run")), "401": _UNAUTHORIZED,
                                  "404": _error("No such run.")},
                }
            },
            "/api/runs/{run_id}/timeline": {
                "get": {
                    "operationId": "getTimeline",
                    "summary": "A run's events so far (turns, tool outputs, approvals, decisions with reviewer)",
                    "parameters": [_RUN_ID],
                    "responses": {"200": _json("The timeline.", _ref("Timeline")), "401": _UNAUTHORIZED,
                                  "404": _error("No such run.")},
                }
            },
            "/api/runs/{run_id}/calls/{call_id}/approve": _decision_route("approve", "ApproveBody"),
            "/api/runs/{run_id}/calls/{call_id}/reject": _decision_route("reject", "RejectBody"),
            "/api/events": {
                "get": {
                    "operationId": "streamEvents",
                    "summary": "Server-sent events: `runs` when any run changes, `timeline` for `run_id`",
                    "description": (
                        "Polled server-side every 0.5 s. Event `runs` carries `{\"runs\": [Run]}` on "
                        "connect and on every change; with `run_id`, event `timeline` carries a "
                        "Timeline on connect and on every change. Comment lines keep the stream alive."
                    ),
                    "parameters": [{"name": "run_id", "in": "query", "required": False,
                                    "schema": {"type": "string"}}],
                    "responses": {
                        "200": {"description": "An endless event stream.",
                                "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                        "401": _UNAUTHORIZED,
                        "404": _error("`run_id` names no run."),
                    },
                }
            },
            "/api/openapi.json": {
                "get": {
                    "operationId": "getOpenAPI",
                    "summary": "This document",
                    "responses": {"200": _json("OpenAPI 3.1", {"type": "object"}), "401": _UNAUTHORIZED},
                }
            },
            "/": {
                "get": {
                    "operationId": "page",
                    "summary": "The inbox page (the login form when not logged in)",
                    "responses": {"200": page, "401": page},
                }
            },
            "/static/app.js": {
                "get": {"operationId": "script", "summary": "The page's script",
                        "responses": {"200": {"description": "JavaScript"}, "401": _UNAUTHORIZED}}
            },
            "/static/app.css": {
                "get": {"operationId": "stylesheet", "summary": "The page's stylesheet",
                        "responses": {"200": {"description": "CSS"}, "401": _UNAUTHORIZED}}
            },
            "/static/favicon.svg": {
                "get": {"operationId": "icon", "summary": "The page's icon",
                        "responses": {"200": {"description": "SVG"}, "401": _UNAUTHORIZED}}
            },
            "/login": {
                "get": {
                    "operationId": "loginLink",
                    "summary": "Exchange the token for a session cookie (the link the server prints)",
                    "security": [],
                    "parameters": [{"name": "token", "in": "query", "required": False,
                                    "schema": {"type": "string"}}],
                    "responses": {
                        "200": {**page, "description": "The login form (no token given)."},
                        "303": {"description": "Logged in: sets the HttpOnly, SameSite=Strict "
                                               "session cookie and redirects to `/`."},
                        "401": {**page, "description": "Wrong token: the login form again."},
                    },
                },
                "post": {
                    "operationId": "loginForm",
                    "summary": "Exchange the token for a session cookie (the login form)",
                    "security": [],
                    "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
                        "schema": {"type": "object", "properties": {"token": {"type": "string"}}}}}},
                    "responses": {
                        "200": {**page, "description": "The login form (no token given)."},
                        "303": {"description": "Logged in (see GET)."},
                        "401": {**page, "description": "Wrong token."},
                        "403": _CSRF,
                        "413": _error("The body is larger than 4 KiB."),
                    },
                },
            },
            "/logout": {
                "post": {
                    "operationId": "logout",
                    "summary": "Clear the session cookie",
                    "parameters": [_CSRF_HEADER],
                    "responses": {"204": {"description": "Logged out."}, "401": _UNAUTHORIZED, "403": _CSRF},
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "The inbox token (TIMESTEP_INBOX_TOKEN or the app-dir token file)."},
                "session": {"type": "apiKey", "in": "cookie", "name": "timestep_inbox_<tag>",
                            "description": "Set by /login; the name depends on the token."},
            },
            "schemas": _SCHEMAS,
        },
    }


_NUMBER_OR_NULL = {"type": ["number", "null"]}
_STRING_OR_NULL = {"type": ["string", "null"]}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error", "detail"],
        "properties": {
            "error": {"type": "string", "enum": [
                "bad_request", "bad_host", "unauthorized", "forbidden", "not_found",
                "method_not_allowed", "conflict", "payload_too_large", "unsupported_media_type",
                "validation_error", "internal_error"]},
            "detail": {"type": "string"},
        },
    },
    "PendingApproval": {
        "type": "object", "required": ["call_id", "tool_name", "arguments", "agent"],
        "properties": {
            "call_id": {"type": "string"},
            "tool_name": {"type": "string"},
            "arguments": {"type": "string", "description": "The tool arguments as the model sent them (JSON text)."},
            "agent": {"type": "string"},
            "requested_at": {**_NUMBER_OR_NULL, "description": "Seconds since the epoch when the run parked."},
        },
    },
    "Run": {
        "type": "object", "required": ["run_id", "status", "pending", "decisions", "usage"],
        "properties": {
            "run_id": {"type": "string"},
            "status": {"type": "string", "enum": _STATUSES},
            "agent": _STRING_OR_NULL,
            "session_id": _STRING_OR_NULL,
            "pending": {"type": "array", "items": _ref("PendingApproval")},
            "decisions": {"type": "object", "additionalProperties": {"type": "string", "enum": ["approve", "reject"]},
                          "description": "call id -> decision, for every decision the run has received."},
            "output": {"description": "The final output (any JSON) once succeeded."},
            "usage": {"type": "object", "additionalProperties": {"type": "integer"}},
            "error": _STRING_OR_NULL,
            "created_at": _NUMBER_OR_NULL,
            "updated_at": _NUMBER_OR_NULL,
        },
    },
    "ApproveBody": {
        "type": "object", "required": ["reviewer"], "additionalProperties": False,
        "properties": {
            "reviewer": {"type": "string", "minLength": 1, "maxLength": 100,
                         "description": "Who decides; recorded with the decision and shown in the timeline."},
            "always": {"type": "boolean", "default": False,
                       "description": "Also approve this tool's other calls, now and later in the run."},
        },
    },
    "RejectBody": {
        "type": "object", "required": ["reviewer"], "additionalProperties": False,
        "properties": {
            "reviewer": {"type": "string", "minLength": 1, "maxLength": 100},
            "message": {"type": ["string", "null"], "maxLength": 4000,
                        "description": "What the model sees instead of the tool's output."},
            "always": {"type": "boolean", "default": False},
        },
    },
    "Decision": {
        "type": "object",
        "required": ["run_id", "call_id", "decision", "always", "message", "decided_by", "decided_at"],
        "properties": {
            "run_id": {"type": "string"},
            "call_id": {"type": "string"},
            "decision": {"type": "string", "enum": ["approve", "reject"]},
            "always": {"type": "boolean"},
            "message": _STRING_OR_NULL,
            "decided_by": {"type": "string"},
            "decided_at": {"type": "number"},
        },
    },
    "TimelineEvent": {
        "type": "object", "required": ["type", "seq", "at", "data"],
        "properties": {
            "type": {"type": "string", "enum": [
                "run_created", "model_response", "tool_output", "approval_required", "decision",
                "step_failed", "run_completed", "run_failed", "run_cancelled"]},
            "seq": {"type": "integer", "description": "The DBOS step id the event derives from."},
            "at": _NUMBER_OR_NULL,
            "data": {"type": "object", "description": (
                "decision: decision, call_id, always, message, decided_by, decided_at; "
                "model_response: items, usage; tool_output: tool, call_id, output; "
                "approval_required: pending; run_completed: output, usage; run_failed: error.")},
        },
    },
    "Timeline": {
        "type": "object", "required": ["run", "events"],
        "properties": {"run": _ref("Run"), "events": {"type": "array", "items": _ref("TimelineEvent")}},
    },
}
