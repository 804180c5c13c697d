"""Drives Segment's and RudderStack's Python libraries, in their default configuration, at a
running Candor, then reads back what Candor stored through Candor's generated Python client
(clients/python).

Environment: CANDOR_URL, CANDOR_INGEST_KEY (the libraries' write key), CANDOR_ADMIN_KEY (to
read back). Exits non-zero, saying what differed, when a promise does not hold.
"""

import os
import sys

from candor_client import AuthenticatedClient
from candor_client.api.consent import get_consents, put_consents
from candor_client.api.events import subject_events
from candor_client.models import ConsentStateBody, ConsentUpdate, DecisionInput, PageBodyStoredEventBody

URL = os.environ["CANDOR_URL"].rstrip("/")
INGEST = os.environ["CANDOR_INGEST_KEY"]
ADMIN = os.environ["CANDOR_ADMIN_KEY"]

# Candor's own calls go through its generated Python client (clients/python).
ingest_api = AuthenticatedClient(base_url=URL, token=INGEST, raise_on_unexpected_status=True)
admin_api = AuthenticatedClient(base_url=URL, token=ADMIN, raise_on_unexpected_status=True)


def grant(subject):
    update = ConsentUpdate(decisions=[DecisionInput(purpose="analytics", decision="granted")])
    state = put_consents.sync(subject, client=ingest_api, body=update)
    if not isinstance(state, ConsentStateBody):
        raise RuntimeError(f"granting consent for {subject}: {state}")


def consented(subject):
    """Whether the subject's analytics consent reads back as granted."""
    state = get_consents.sync(subject, client=admin_api)
    if not isinstance(state, ConsentStateBody):
        raise RuntimeError(f"reading consents of {subject}: {state}")
    return any(p.purpose == "analytics" and p.status == "granted" for p in state.purposes)


def stored(subject):
    page = subject_events.sync(subject, client=admin_api, limit=100, purpose="analytics")
    if not isinstance(page, PageBodyStoredEventBody):
        raise RuntimeError(f"reading events of {subject}: {page}")
    return sorted((e.event_type, e.properties.additional_properties.get("product_id")) for e in page.items)


def drive(name, client):
    """The calls a shop's backend makes; returns the ids they were about."""
    user, anon, none = f"sdk-{name}-user", f"sdk-{name}-anon", f"sdk-{name}-none"
    grant(user)
    grant(anon)
    props = {"product_id": "sku-1", "category": "Running", "price": 20.0}
    client.track(anonymous_id=anon, event="Product Viewed", properties=props)
    client.identify(user_id=user, anonymous_id=anon, traits={"plan": "basic"})
    client.track(user_id=user, event="Product Added", properties={"product_id": "sku-2"})
    client.page(user_id=user, name="Home")
    client.alias(previous_id=anon, user_id=user)
    # No consent: dropped.
    client.track(user_id=none, event="Product Viewed", properties=props)
    client.flush()
    client.shutdown()
    return user, anon, none


def main():
    errors = []
    import segment.analytics as segment
    import rudderstack.analytics.client as rudder

    clients = {
        "segment-python": segment.Client(INGEST, host=URL, on_error=lambda e, _: errors.append(e)),
        "rudder-python": rudder.Client(INGEST, host=URL, on_error=lambda e, _: errors.append(e)),
    }
    failed = False
    for name, client in clients.items():
        user, anon, none = drive(name, client)
        expected = {
            # The visitor's event moved to the person they identified as; the alias was
            # refused (per event) and changed nothing.
            user: [("Page Viewed", None), ("Product Added", "sku-2"), ("Product Viewed", "sku-1")],
            anon: [],
            none: [],
        }
        for subject in (user, anon):
            if not consented(subject):
                failed = True
                print(f"{name}: {subject}'s analytics consent does not read back as granted", file=sys.stderr)
        for subject, want in expected.items():
            got = stored(subject)
            if got != want:
                failed = True
                print(f"{name}: {subject} has {got}, expected {want}", file=sys.stderr)
        if errors:
            failed = True
            print(f"{name}: the library reported {errors}", file=sys.stderr)
            errors.clear()
        if not failed:
            print(f"ok {name}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
