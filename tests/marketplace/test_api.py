import pytest
from rest_framework import serializers

from marketplace.api import exception_handler
from marketplace.errors import Conflict, DomainError


class _Input(serializers.Serializer):
    starts_at = serializers.DateTimeField()


def test_domain_error_becomes_a_clear_4xx():
    response = exception_handler(Conflict("That time was just taken.", code="slot_taken"), {})
    assert response.status_code == 409
    assert response.data == {
        "error": {"code": "slot_taken", "message": "That time was just taken.", "fields": {}}
    }
    response = exception_handler(DomainError("Bad", fields={"x": ["wrong"]}), {})
    assert response.status_code == 400
    assert response.data["error"]["fields"] == {"x": ["wrong"]}


def test_validation_error_names_the_fields():
    serializer = _Input(data={"starts_at": "tomorrow-ish"})
    with pytest.raises(serializers.ValidationError) as caught:
        serializer.is_valid(raise_exception=True)
    response = exception_handler(caught.value, {})
    assert response.status_code == 400
    assert response.data["error"]["code"] == "invalid"
    assert "starts_at" in response.data["error"]["fields"]


@pytest.mark.django_db
def test_api_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"openapi" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"cdn" not in docs.content.lower()
