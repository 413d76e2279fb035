"""A small Stripe API over real HTTP on 127.0.0.1, for the stripe library (ours and dj-stripe's) to talk to.

It stores the objects it creates or is given, answers retrieves and lists from them, records every request
(decoded form params and headers, e.g. Idempotency-Key), and can be told to fail a route with a Stripe error.
It implements only what the portal uses, and Stripe's billing logic not at all: tests set the objects Stripe
would hold (subscriptions, invoices) with `put` and assert on the requests the adapter made.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ACCOUNT = {"id": "acct_fake", "object": "account", "type": "standard", "settings": {}, "business_profile": {}}
PREFIXES = {
    "customers": "cus",
    "products": "prod",
    "prices": "price",
    "checkout/sessions": "cs",
    "subscription_schedules": "sub_sched",
    "payment_intents": "pi",
}


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]

    @property
    def idempotency_key(self) -> str:
        return self.headers.get("idempotency-key", "")


def decode(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (`items[0][price]=...`) back into nested dicts and lists (strings)."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        tokens = re.findall(r"[^\[\]]+", key)
        node = root
        for token in tokens[:-1]:
            node = node.setdefault(token, {})
        node[tokens[-1]] = value
    return _lists(root)


def _phases(sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A schedule's phases as Stripe keeps them from an update: each with its start and end (a phase given a
    duration ends a month or a year after it starts)."""
    phases, start = [], 0
    for phase in sent:
        start = int(phase.get("start_date", start))
        duration = phase.get("duration") or {}
        end = int(phase["end_date"]) if "end_date" in phase else start + (
            365 if duration.get("interval") == "year" else 30) * 86_400
        items = [{"price": item["price"], "quantity": int(item.get("quantity", 1))} for item in phase["items"]]
        phases.append({"start_date": start, "end_date": end, "items": items})
        start = end
    return phases


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        node = {key: _lists(value) for key, value in node.items()}
        if node and all(key.isdigit() for key in node):
            return [node[key] for key in sorted(node, key=int)]
    return node


def stripe_error(
    status: int, code: str, message: str, kind: str = "invalid_request_error"
) -> tuple[int, dict]:
    return status, {"error": {"type": kind, "code": code, "message": message}}


class FakeStripe:
    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        self.failures: dict[tuple[str, str], tuple[int, dict]] = {}
        self.preview: dict[str, Any] = {
            "object": "invoice",
            "currency": "usd",
            "total": 0,
            "amount_due": 0,
            "total_taxes": [],
            "lines": {"object": "list", "data": []},
        }
        self.invoice_lines: dict[
            str, list[dict[str, Any]]
        ] = {}  # a long invoice's lines beyond its first page
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _handle(self, method: str) -> None:
                url = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                params = decode(
                    parse_qsl(url.query, keep_blank_values=True) + parse_qsl(body, keep_blank_values=True)
                )
                status, payload = fake.answer(
                    method, url.path, params, {k.lower(): v for k, v in self.headers.items()}
                )
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Request-Id", f"req_{next(fake._ids)}")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_DELETE(self) -> None:
                self._handle("DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeStripe:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- what tests use -------------------------------------------------------------------------------

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Make Stripe hold this object (as a retrieve will return it)."""
        self.objects[obj["id"]] = obj
        return obj

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method != "GET"]

    def fail(self, method: str, path: str, status: int, code: str, message: str, kind: str) -> None:
        self.failures[(method, path)] = stripe_error(status, code, message, kind)

    # --- the API --------------------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids)}"

    def answer(
        self, method: str, path: str, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict]:
        with self._lock:
            self.requests.append(Recorded(method, path, params, headers))
            if (method, path) in self.failures:
                return self.failures[(method, path)]
            if path == "/v1/account":
                return 200, ACCOUNT
            if path == "/v1/invoices/create_preview":
                return 200, self.preview
            if method == "GET" and path == "/v1/prices":
                keys = params.get("lookup_keys", [])
                found = [
                    p
                    for p in self.objects.values()
                    if p.get("object") == "price" and p.get("active") and p.get("lookup_key") in keys
                ]
                return 200, {"object": "list", "data": found, "has_more": False, "url": path}
            listed = {"/v1/subscriptions": "subscription", "/v1/invoices": "invoice"}.get(path)
            if method == "GET" and listed:  # a customer's subscriptions or invoices
                found = [
                    o for o in self.objects.values()
                    if o.get("object") == listed and o.get("customer") == params.get("customer")
                ]
                return 200, {"object": "list", "data": found, "has_more": False, "url": path}
            if method == "POST" and path == "/v1/refunds":
                refund = {"id": self.new_id("re"), "object": "refund", "status": "succeeded",
                          "amount": int(params["amount"]), "charge": params.get("charge"),
                          "payment_intent": params.get("payment_intent")}
                return 200, self.put(refund)
            parts = path.removeprefix("/v1/").replace("checkout/sessions", "checkout_sessions").split("/")
            collection, rest = parts[0].replace("checkout_sessions", "checkout/sessions"), parts[1:]
            if method == "POST" and not rest and collection in PREFIXES:
                return 200, self.put(self._create(collection, params))
            if collection == "subscription_items":
                return self._update_item(rest[0], params)
            obj = self.objects.get(rest[0]) if rest else None
            if obj is None:
                return stripe_error(
                    404, "resource_missing", f"No such {collection}: '{rest[0] if rest else ''}'"
                )
            action = rest[1] if len(rest) > 1 else ""
            if action == "lines":
                lines = self.invoice_lines.get(obj["id"], obj["lines"]["data"])
                return 200, {"object": "list", "data": lines, "has_more": False, "url": path}
            if method == "GET" and action:  # sub-lists the portal never sets (e.g. a product's features)
                return 200, {"object": "list", "data": [], "has_more": False, "url": path}
            if action == "release":
                obj.update(
                    status="released", released_subscription=obj.get("subscription"), subscription=None
                )
            elif action == "pay":
                obj.update(status="paid")
            elif method == "DELETE" and collection == "subscriptions":
                obj.update(status="canceled")
            elif method == "POST" and collection == "subscription_schedules" and "phases" in params:
                obj.update(phases=_phases(params["phases"]), end_behavior=params.get("end_behavior", "release"))
            elif method == "POST":
                obj.update({k: v for k, v in params.items() if not isinstance(v, dict | list)})
            return 200, obj

    def _update_item(self, item_id: str, params: dict[str, Any]) -> tuple[int, dict]:
        for subscription in [o for o in self.objects.values() if o.get("object") == "subscription"]:
            for item in subscription["items"]["data"]:
                if item["id"] == item_id:
                    item["quantity"] = int(params.get("quantity", item["quantity"]))
                    return 200, item
        return stripe_error(404, "resource_missing", f"No such subscription item: '{item_id}'")

    def _create(self, collection: str, params: dict[str, Any]) -> dict[str, Any]:
        base = {
            "object": collection.split("/")[-1].rstrip("s").replace("session", "checkout.session"),
            "livemode": False,
            "created": int(time.time()),
            "metadata": params.get("metadata", {}),
        }
        if collection == "payment_intents":  # confirmed at once; a test makes a card decline with `fail`
            return {
                **base,
                "object": "payment_intent",
                "id": self.new_id("pi"),
                "status": "succeeded",
                "amount": int(params["amount"]),
                "currency": params["currency"],
                "customer": params.get("customer"),
                "payment_method": params.get("payment_method"),
            }
        if collection == "customers":
            return {
                **base,
                "id": self.new_id("cus"),
                "name": params.get("name"),
                "email": params.get("email"),
                "address": params.get("address"),
                "invoice_settings": params.get("invoice_settings", {}),
            }
        if collection == "products":
            return {
                **base,
                "id": params.get("id") or self.new_id("prod"),
                "name": params["name"],
                "active": True,
            }
        if collection == "prices":
            if params.get("transfer_lookup_key") == "true":
                for other in self.objects.values():
                    if other.get("object") == "price" and other.get("lookup_key") == params["lookup_key"]:
                        other["lookup_key"] = None
            return {
                **base,
                "id": self.new_id("price"),
                "product": params["product"],
                "active": True,
                "currency": params["currency"],
                "unit_amount": int(params["unit_amount"]),
                "type": "recurring",
                "recurring": {
                    "interval": params["recurring"]["interval"],
                    "interval_count": 1,
                    "usage_type": "licensed",
                },
                "lookup_key": params["lookup_key"],
                "nickname": params.get("nickname"),
                "billing_scheme": "per_unit",
            }
        if collection == "checkout/sessions":
            session_id = self.new_id("cs")
            return {
                **base,
                "object": "checkout.session",
                "id": session_id,
                "mode": params["mode"],
                "url": f"https://checkout.stripe.test/{session_id}",
                "customer": params.get("customer"),
                "client_reference_id": params.get("client_reference_id"),
                "status": "open",
            }
        subscription = self.objects[params["from_subscription"]]
        item = subscription["items"]["data"][0]
        phase = {
            "start_date": item["current_period_start"],
            "end_date": item["current_period_end"],
            "items": [
                {"price": i["price"]["id"], "quantity": i["quantity"]} for i in subscription["items"]["data"]
            ],
        }
        schedule = {
            **base,
            "object": "subscription_schedule",
            "id": self.new_id("sub_sched"),
            "subscription": subscription["id"],
            "customer": subscription["customer"],
            "status": "active",
            "end_behavior": "release",
            "phases": [phase],
            "current_phase": {"start_date": phase["start_date"], "end_date": phase["end_date"]},
        }
        subscription["schedule"] = schedule["id"]
        return schedule
