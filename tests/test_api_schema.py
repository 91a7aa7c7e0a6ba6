import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_openapi_schema_lists_the_api(client):
    response = client.get(reverse("schema") + "?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in [
        "/api/exams/",
        "/api/students/",
        "/api/sessions/",
        "/api/flags/",
        "/api/me/session/",
        "/api/students/import-csv/",
    ]:
        assert path in schema["paths"], path
    assert "examSessionToken" in schema["components"]["securitySchemes"]


def test_docs_page_uses_locally_served_assets(client):
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page and "cdn." not in page
