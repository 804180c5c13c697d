"""Drives Segment's and RudderStack's Python libraries, in their default configuration, at a
running Candor, then reads back what Candor stored.

Environment: CANDOR_URL, CANDOR_INGEST_KEY (the libraries' write key), CANDOR_ADMIN_KEY (to
read back). Exits non-zero, saying what differed, when a promise does not hold.
"""

import json
import os
import sys
import urllib.request

URL = os.environ["CANDOR_URL"].rstrip("/")
INGEST = os.environ["CANDOR_INGEST_KEY"]
ADMIN = os.environ["CANDOR_ADMIN_KEY"]


def call(method, path, key, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(URL + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + key)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.load(res)


def grant(subject):
    call("PUT", f"/v1/subjects/{subject}/consents", INGEST,
         {"decisions": [{"purpose": "analytics", "decision": "granted"}]})


def stored(subject):
    page = call("GET", f"/v1/subjects/{subject}/events?limit=100&purpose=analytics", ADMIN)
    return sorted((e["event_type"], e["properties"].get("product_id")) for e in page["items"])


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
