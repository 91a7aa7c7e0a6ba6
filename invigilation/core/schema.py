"""The OpenAPI schema's error answers, so that clients (and schemathesis) can rely on them."""

from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent

ERROR_DESCRIPTIONS = {
    400: "The input is invalid: each field's messages, or `detail`.",
    401: "No credentials, or bad ones (see `WWW-Authenticate`).",
    403: "Authenticated, but not allowed.",
    404: "No such object (or one the user may not see), or no such page.",
    409: "Not now: the exam has not started, is finished, or needs a check-in first.",
    413: "The picture is too large.",
    415: "The body's media type is not accepted.",
    422: "The picture is unusable (no face, several, too dark).",
    429: "Too many requests: wait `Retry-After` seconds.",
    503: "The database or Redis is briefly unavailable: retry after `Retry-After` seconds.",
}
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# DRF answers an invalid field as {"field": ["message", ...]}, a body it cannot read as
# {"detail": "..."}.
VALIDATION_ERROR_SCHEMA = {"type": "object", "additionalProperties": True}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, plus each operation's error answers.

    A view adds statuses only it answers in `error_statuses` (e.g. the student's pictures).
    """

    def get_operation(self, path, path_regex, path_prefix, method, registry) -> dict | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        for status in sorted(self._error_statuses(operation)):
            operation["responses"].setdefault(str(status), self._error_response(status))
        return operation

    def _error_statuses(self, operation: dict) -> set[int]:
        statuses = {503, *getattr(self.view, "error_statuses", ())}
        # Bad credentials are refused (401), and a session without its CSRF token (403), even
        # where no credentials are needed.
        if self.view.get_authenticators():
            statuses |= {401, 403}
        query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        if "requestBody" in operation:
            statuses |= {400, 415}
        elif query - {"page", "ordering", "search"}:
            statuses.add(400)  # the filters
        if "{" in self.path or "page" in query:
            statuses.add(404)
        if self.view.throttle_classes:
            statuses.add(429)
        return statuses

    def _error_response(self, status: int) -> dict:
        name, schema = ("Error", ERROR_SCHEMA)
        if status == 400:
            name, schema = ("ValidationError", VALIDATION_ERROR_SCHEMA)
        component = ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema
        )
        self.registry.register_on_missing(component)
        response = {
            "description": ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"schema": component.ref}},
        }
        if status in (429, 503):
            response["headers"] = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}
        return response
