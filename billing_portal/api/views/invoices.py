"""/api/billing/invoices: the caller's org's finalized invoices (never drafts), one by one, and as PDFs."""

from __future__ import annotations

from typing import Any

from django.db.models import prefetch_related_objects
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_portal.api import serializers as shapes
from billing_portal.api.models import Scope
from billing_portal.api.pagination import Pagination
from billing_portal.api.permissions import scope_required
from billing_portal.api.views.callers import caller_actor, caller_org, paginated
from invoices.models import Invoice
from invoices.views import pdf_download

TAGS = ["invoices"]


def _invoice(request: Request, invoice_id: int) -> Invoice:
    """The caller's finalized invoice; another org's, a draft or none at all is the same 404."""
    return get_object_or_404(Invoice.objects.of_org(caller_org(request)), pk=invoice_id)


class InvoiceListView(APIView):
    permission_classes = [scope_required(Scope.BILLING_READ)]
    pagination_class = Pagination

    @extend_schema(
        tags=TAGS,
        summary="Invoices, newest first",
        parameters=[shapes.InvoiceListIn],
        responses={
            200: shapes.InvoiceOut(many=True),
            **shapes.error_responses(400, 404, *shapes.AUTHENTICATED_ERRORS),
        },
    )
    def get(self, request: Request) -> Response:
        query = shapes.InvoiceListIn(data=request.query_params)
        query.is_valid(raise_exception=True)
        invoices = Invoice.objects.of_org(caller_org(request))
        if "status" in query.validated_data:
            invoices = invoices.filter(status=query.validated_data["status"])
        return paginated(request, self, invoices, shapes.InvoiceOut)


class InvoiceDetailView(APIView):
    permission_classes = [scope_required(Scope.BILLING_READ)]

    @extend_schema(
        tags=TAGS,
        summary="One invoice with its lines",
        responses={200: shapes.InvoiceDetailOut, **shapes.error_responses(404, *shapes.AUTHENTICATED_ERRORS)},
    )
    def get(self, request: Request, invoice_id: int) -> Response:
        invoice = _invoice(request, invoice_id)
        prefetch_related_objects([invoice], "lines")
        return Response(shapes.InvoiceDetailOut(invoice, context={"request": request}).data)


class JsonErrorsWhateverIsAccepted(BaseContentNegotiation):
    """The PDF answers application/pdf itself; its errors are JSON, whatever the Accept header says."""

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        return parsers[0]

    def select_renderer(
        self, request: Request, renderers: list[Any], format_suffix: str | None = None
    ) -> Any:
        return renderers[0], renderers[0].media_type


class InvoicePdfView(APIView):
    permission_classes = [scope_required(Scope.BILLING_READ)]
    content_negotiation_class = JsonErrorsWhateverIsAccepted

    @extend_schema(
        tags=TAGS,
        summary="The invoice as a PDF",
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF file."),
            **shapes.error_responses(404, 409, *shapes.AUTHENTICATED_ERRORS),
        },
    )
    def get(self, request: Request, invoice_id: int) -> FileResponse:
        return pdf_download(_invoice(request, invoice_id), caller_actor(request))
