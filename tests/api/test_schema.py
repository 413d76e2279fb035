"""The OpenAPI schema covers every endpoint with its errors, and the docs page works offline."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.urls.resolvers import RoutePattern

from billing_portal.api import urls as billing_urls
from metering import urls as metering_urls

pytestmark = pytest.mark.django_db
ERROR_REF = "#/components/schemas/ErrorOut"


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        response = Client().get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def routed_paths():
    """Every API route as the schema names it: /api/v2/sessions/{session_id}/end, ..."""
    for prefix, module in (("/api/", billing_urls), ("/api/v2/", metering_urls)):
        for pattern in module.urlpatterns:
            if pattern.name is None:
                continue  # the JSON 404 for unknown paths
            assert isinstance(pattern.pattern, RoutePattern)
            yield prefix + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))


def test_every_endpoint_is_in_the_schema(schema):
    assert set(schema["paths"]) == set(routed_paths())


def test_every_operation_documents_its_body_and_its_errors_in_the_one_error_shape(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert any(code.startswith("2") for code in responses), (method, path)
            errors = {code: answer for code, answer in responses.items() if code[0] in "45"}
            assert "429" in errors, (method, path)
            if path != "/api/billing/plans":
                assert {"401", "403"} <= set(errors), (method, path)
                assert {"ApiKey": []} in operation["security"], (method, path)
            for answer in errors.values():
                assert answer["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}, (method, path)
            if method == "post" and "requestBody" in operation:
                assert "400" in errors, (method, path)


@pytest.mark.parametrize(
    "path", ["/api/billing/invoices/x", "/api/v2/quota/%F1", "/api/billing/", "/api/v2/x", "/api/v1/usage", "/api/"]
)
def test_unknown_api_paths_are_json_404s(client, path):
    response = client.post(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/api/docs", "/api/schema"])
def test_the_docs_without_their_slash_still_redirect(client, path):
    assert client.get(path).headers["Location"] == f"{path}/"


def test_the_pdf_is_documented_as_a_pdf(schema):
    ok = schema["paths"]["/api/billing/invoices/{invoice_id}/pdf"]["get"]["responses"]["200"]
    assert ok["content"] == {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}


def test_the_docs_page_loads_everything_from_our_own_static_files(client):
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    page = response.content.decode()
    assert not re.search(r"https?://|[\"']//", page)  # no other host, not even protocol-relative
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert len(assets) >= 4 and all(asset.startswith("/static/drf_spectacular_sidecar/") for asset in assets)
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert '"validatorUrl": null' in page  # Swagger UI would otherwise fetch a badge from swagger.io
    assert 'url: "/api/schema/"' in page
