"""SparkPost's Python client (PyPI `sparkpost`) against a running eventhose, its calls written
as the client's README and examples show them. Run by crates/eventhose/tests/e2e/compat.rs with
EVENTHOSE_URL, EVENTHOSE_KEY and FROM (seven days ago, YYYY-MM-DDTHH:MM, UTC) set. Checks each
answer's shape, and prints what the test compares with the data it fed."""

import json
import os
import sys

from sparkpost import SparkPost
from sparkpost.exceptions import SparkPostAPIException

url = os.environ["EVENTHOSE_URL"]
host = url.split("://", 1)[1]
sp = SparkPost(os.environ["EVENTHOSE_KEY"], base_uri=host)
# The client always speaks HTTPS to `base_uri`; the test server listens on plain HTTP on
# loopback, so each resource's address is given its scheme back.
for resource in (sp.suppression_list, sp.metrics.campaigns, sp.metrics.domains):
    resource.base_uri = resource.base_uri.replace("https://", "http://", 1)

observed = {}

# Suppression entries in the older, still documented form: `email` and the type booleans.
sp.suppression_list.create({
    "email": "py1@test.com",
    "transactional": True,
    "non_transactional": True,
    "description": "Test description",
})
sp.suppression_list.update({
    "email": "py1@test.com",
    "transactional": False,
    "non_transactional": True,
    "description": "Updated description",
})
sp.suppression_list.create([
    {"email": "py2@test.com", "transactional": True, "description": "Bulk one"},
    {"recipient": "py3@test.com", "type": "non_transactional", "description": "Bulk two"},
])
entries = sp.suppression_list.get("PY1@test.com")
observed["py1"] = sorted((e["type"], e["description"]) for e in entries)
listed = sp.suppression_list.list(limit=2)
assert isinstance(listed, list) and len(listed) <= 2, listed
observed["listed"] = len(listed)
sp.suppression_list.delete("py2@test.com")
try:
    sp.suppression_list.get("py2@test.com")
    observed["py2_after_delete"] = "found"
except SparkPostAPIException as e:
    observed["py2_after_delete"] = e.status

# Metrics lists over the last seven days.
observed["campaigns"] = sorted(
    sp.metrics.campaigns.list(params={"from": os.environ["FROM"]}))
observed["domains"] = sorted(
    sp.metrics.domains.list(params={"from": os.environ["FROM"]}))

json.dump(observed, sys.stdout)
