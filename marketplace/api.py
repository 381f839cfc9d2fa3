"""API plumbing shared by every app: one error shape for every 4xx, and the schema that
documents it.

Every error body is ``{"error": {"code": ..., "message": ..., "fields": {...}}}``.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular import openapi
from drf_spectacular.plumbing import ComponentRegistry
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from marketplace.errors import DomainError


def _flatten(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(key): [str(item) for item in (value if isinstance(value, list) else [value])]
            for key, value in detail.items()
        }
    return {}


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


@csrf_exempt
def not_found(request: HttpRequest) -> JsonResponse:
    """A URL under ``/api/`` that names no endpoint: the API's 404 body, not the HTML page
    (e.g. ``/api/bookings/abc/``, an id that is not a number). It changes nothing, so it
    needs no CSRF check."""
    return JsonResponse(error_body("not_found", f"No API endpoint at {request.path}."), status=404)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {}
        message = "; ".join(exc.messages)
        return Response(error_body("invalid", message, fields), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        if isinstance(exc.detail, list):
            message = "; ".join(str(item) for item in exc.detail)
        else:
            message = "Some fields are not valid: " + ", ".join(sorted(fields))
        response.data = error_body("invalid", message, fields)
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        response.data = error_body(str(code), str(exc.detail))
    return response


# --- the schema ----------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.BINARY)
class UploadField(serializers.FileField):
    """A file sent as a part of a multipart form: documented as its bytes (DRF's
    ``FileField`` reads as the file's URL)."""


class ErrorDetailOutput(serializers.Serializer):
    code = serializers.CharField(help_text="Stable and machine-readable, e.g. `slot_taken`.")
    message = serializers.CharField(help_text="A sentence to show to people.")
    # The body's key. DRF's metaclass takes declared fields off the class, so this does not
    # replace ``Serializer.fields``; only the type checker sees the two names meet.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per input field; empty when the error is not about a field.",
    )


class ErrorOutput(serializers.Serializer):
    """The body of every error response (``error_body``)."""

    error = ErrorDetailOutput()


ERROR_DESCRIPTIONS = {
    400: "The input is not valid or breaks a rule; `error.fields` names the fields.",
    401: "No credentials, or credentials that are not valid.",
    402: "The card was declined; `error.message` says why (Stripe recorded the attempt).",
    403: "Not signed in, a token that is refused, or not allowed to do this.",
    404: "No such object, or not one the caller may see.",
    409: "The current state does not allow this (e.g. the time was just taken).",
    413: "The request body is larger than 12 MB.",
    415: "The body is not JSON, a form or a multipart form.",
    429: "Too many requests; wait and try again.",
    502: "Stripe could not be reached or refused the request.",
    503: "Payments cannot be started right now; try again shortly.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """Error responses an operation gives beyond those every operation of its kind gives
    (see ``AutoSchema``), for ``extend_schema(responses={200: ..., **error_responses(409)})``."""
    return {
        status: OpenApiResponse(ErrorOutput, description=ERROR_DESCRIPTIONS[status])
        for status in statuses
    }


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, with the error responses each operation can give.

    From what the view declares: 400 where it reads a body or query parameters; 413 and
    415 where it reads a body (too large, see ``marketplace.uploads``; not a type it
    parses); 401/403 where it authenticates or checks permissions; 404 where the path names
    an object or the list is paginated (a page that does not exist); 429 where it is
    throttled. Views add what their services raise (409, 502, 503, ...) with
    ``error_responses``.
    """

    def get_operation(
        self,
        path: str,
        path_regex: str,
        path_prefix: str,
        method: str,
        registry: ComponentRegistry,
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        self._bound_digit_parameters(operation, path_regex)
        error = self.resolve_serializer(ErrorOutput, "response")
        responses = operation["responses"]
        for status_code in sorted(self._error_statuses(operation)):
            responses.setdefault(
                str(status_code),
                {
                    "content": {"application/json": {"schema": error.ref}},
                    "description": ERROR_DESCRIPTIONS[status_code],
                },
            )
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    @staticmethod
    def _bound_digit_parameters(operation: dict[str, Any], route: str) -> None:
        """``<int:pk>`` matches digits only: a negative id never reaches the view (it is the
        API's 404 for an unknown URL), so the schema says ``minimum: 0``."""
        converters = {name: converter for converter, name in re.findall(r"<(\w+):(\w+)>", route)}
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "path":
                continue
            # drf-spectacular names a ``pk`` path variable ``id``
            name = parameter["name"]
            name = "pk" if name == "id" and name not in converters else name
            if converters.get(name) == "int":
                parameter["schema"].setdefault("minimum", 0)

    def _error_statuses(self, operation: dict[str, Any]) -> set[int]:
        statuses: set[int] = set()
        located = {parameter["in"] for parameter in operation.get("parameters", [])}
        names = {parameter["name"] for parameter in operation.get("parameters", [])}
        if "requestBody" in operation:
            statuses |= {400, 413, 415}
        if "query" in located:
            statuses.add(400)
        if "path" in located:
            statuses.add(404)
        paginator = getattr(self.view, "pagination_class", None)
        if self.method == "GET" and paginator and paginator.page_query_param in names:
            statuses.add(404)
        authenticators = self.view.get_authenticators()
        guarded = any(
            not isinstance(permission, permissions.AllowAny)
            for permission in self.view.get_permissions()
        )
        if authenticators or guarded:
            # A refused token is a 403 unless the first authenticator sends a challenge
            # (DRF answers 401 only with a WWW-Authenticate header to send).
            statuses.add(403)
            if authenticators and authenticators[0].authenticate_header(self.view.request):
                statuses.add(401)
        if self.view.get_throttles():
            statuses.add(429)
        return statuses


class FieldsBuiltOnce:
    """For output serializers whose fields depend on the class alone: ``ModelSerializer``
    builds every field again from the model's metadata for each instance (about 0.1 ms a
    field, a millisecond for a booking); here they are built once per class and each instance
    binds shallow copies. A read-only field keeps nothing of its own but what binding sets
    (its name, source and parent), so copies of one built field serve every instance."""

    def get_fields(self) -> dict[str, serializers.Field]:
        serializer_class = type(self)
        built = serializer_class.__dict__.get("_fields_built_once")
        if built is None:
            built = super().get_fields()  # type: ignore[misc]
            serializer_class._fields_built_once = built  # type: ignore[attr-defined]
        return {name: copy.copy(field) for name, field in built.items()}
