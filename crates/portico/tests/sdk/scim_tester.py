"""Drives a Portico SCIM endpoint with scim2-tester (PyPI), a third-party RFC 7643/7644
compliance checker, and prints its results as one JSON list.

argv: the SCIM base URL, a bearer token. The tester is told one rule of Portico's that no
schema can state: userName is the user's sign-in email address, so the values it makes up
for userName are email addresses.
"""

import json
import sys
import uuid

import httpx2
import scim2_tester.checkers.patch_add as patch_add
import scim2_tester.checkers.patch_replace as patch_replace
import scim2_tester.filling as filling
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import check_server

_generate = filling.generate_random_value


def _generate_value(context, path, *args, **kwargs):
    if str(path).endswith("userName"):
        return f"{uuid.uuid4()}@example.com"
    return _generate(context, path, *args, **kwargs)


for module in (filling, patch_add, patch_replace):
    module.generate_random_value = _generate_value

base, token = sys.argv[1], sys.argv[2]
http = httpx2.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
client = SyncSCIMClient(http)
client.discover()
results = check_server(client)
print(
    json.dumps(
        [
            {"status": r.status.name, "title": r.title, "reason": r.reason or ""}
            for r in results
        ]
    )
)
