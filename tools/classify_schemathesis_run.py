"""Sort the failing checks of a Schemathesis run against the simulator by cause.

Run the simulator and Schemathesis over the whole official definition, then this script::

    python -m fivetran_provider.testing --port 18765 --api-key k --api-secret s --quiet &
    schemathesis run "$FIVETRAN_OPENAPI_SPEC" --url http://127.0.0.1:18765 -a k:s -n 100 \\
        --generation-deterministic --continue-on-failure -c all -w 2 --phases examples,fuzzing \\
        --report ndjson --report-ndjson-path run.ndjson
    python tools/classify_schemathesis_run.py run.ndjson

It prints the requests sent, the statuses answered, the slowest answer and every failing check
under one cause: an operation the simulator does not serve, a known defect of the definition, a
generated id that does not exist, or ``SIMULATOR DEFECT`` (anything else, listed in full).
"""

from __future__ import annotations

import base64
import json
import re
import sys
from collections import Counter
from typing import Any

#: (method, path template) of every operation the simulator serves.
SERVED: frozenset[tuple[str, str]] = frozenset(
    (method, "/v1" + path)
    for method, path in (
        ("GET", "/account/info"),
        ("GET", "/groups"),
        ("GET", "/groups/{groupId}"),
        ("GET", "/groups/{groupId}/connections"),
        ("GET", "/destinations/{destinationId}"),
        ("GET", "/users"),
        ("GET", "/connections"),
        ("GET", "/connections/{connectionId}"),
        ("PATCH", "/connections/{connectionId}"),
        ("DELETE", "/connections/{connectionId}"),
        ("POST", "/connections/{connectionId}/sync"),
        ("POST", "/connections/{connectionId}/resync"),
        ("POST", "/connections/{connectionId}/test"),
        ("GET", "/connections/{connectionId}/schemas"),
        ("PATCH", "/connections/{connectionId}/schemas"),
        ("POST", "/connections/{connectionId}/schemas/reload"),
        ("POST", "/connections/{connectionId}/schemas/tables/resync"),
        ("PATCH", "/connections/{connectionId}/schemas/{schemaName}"),
        ("PATCH", "/connections/{connectionId}/schemas/{schemaName}/tables/{tableName}"),
        ("PATCH", "/connections/{connectionId}/schemas/{schemaName}/tables/{tableName}/columns/{columnName}"),
        ("GET", "/connections/{connectionId}/schemas/{schema}/tables/{table}/columns"),
        ("GET", "/connections/{connectionId}/state"),
        ("PATCH", "/connections/{connectionId}/state"),
        ("GET", "/webhooks"),
        ("POST", "/webhooks/account"),
        ("POST", "/webhooks/group/{groupId}"),
        ("GET", "/webhooks/{webhookId}"),
        ("PATCH", "/webhooks/{webhookId}"),
        ("DELETE", "/webhooks/{webhookId}"),
        ("POST", "/webhooks/{webhookId}/test"),
    )
)
#: Statuses Fivetran's response-codes page documents for every endpoint.
GENERAL_STATUSES = frozenset({400, 401, 403, 404, 405, 406, 409, 415, 429})
_NULLABLE = re.compile(r"properties/(succeeded_at|failed_at|proxy_agent_id|private_link_id)")


def _answer_text(response: dict[str, Any]) -> bytes:
    encoded = (response.get("content") or {}).get("$base64")
    return base64.b64decode(encoded) if encoded else b""


def classify(served: bool, code: str, status: int | None, message: str, response: dict[str, Any], body: Any) -> str:
    """The cause of one failing check.

    :param served: whether the simulator serves the operation.
    :param code: Schemathesis's check code (``ST103``...).
    :param status: the status answered.
    :param message: the check's message.
    :param response: the recorded answer.
    :param body: the request body sent.
    """
    text = _answer_text(response)
    if not served:
        return "operation not served (404 saying so)"
    if code == "ST103" and status in GENERAL_STATUSES:
        return f"definition: {status} not listed for the operation (response-codes page documents it)"
    if code == "ST202" and status == 406:
        return "definition: Accept typed as any string (406 for non-JSON media types)"
    if code == "ST202" and status == 404:
        return "generated id that does not exist (404)"
    if code == "ST108" and "ConnectorResponse/properties/config" in message:
        return "definition: list items' config values typed as objects"
    if code == "ST108" and _NULLABLE.search(message):
        return "definition: succeeded_at/failed_at/proxy_agent_id/private_link_id null in practice"
    if code == "ST202" and status == 400 and b"parameter 'limit'" in text:
        return "definition: limit 1..1000 (pagination page) not bounded"
    if code == "ST202" and status == 400 and body is None and b"required" in text:
        return "definition: request body optional although its fields are required"
    if code == "ST201" and "additionalProperties" in message:
        return "negative case made valid: unknown query parameters ignored, credentials added by the run"
    return f"SIMULATOR DEFECT {code} {status}"


def main(path: str) -> int:
    """Print the summary of one run.

    :param path: the NDJSON report.
    :return: 1 when a failing check has no known cause, else 0.
    """
    requests = 0
    statuses: Counter[str] = Counter()
    causes: Counter[str] = Counter()
    slowest = 0.0
    unexplained: list[str] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            scenario = json.loads(line).get("ScenarioFinished")
            if not scenario:
                continue
            recorder = scenario["recorder"]
            method, template = recorder["label"].split(" ", 1)
            served = (method, template) in SERVED
            for interaction in recorder["interactions"].values():
                response = interaction.get("response")
                requests += 1
                statuses[str(response["status_code"]) if response else "no answer"] += 1
                slowest = max(slowest, (response or {}).get("elapsed") or 0.0)
            for case_id, checks in recorder["checks"].items():
                response = (recorder["interactions"].get(case_id) or {}).get("response") or {}
                body = ((recorder["cases"].get(case_id) or {}).get("value") or {}).get("body")
                for check in checks:
                    if check["status"] != "failure":
                        continue
                    failure = check["failure_info"]["failure"]
                    status = response.get("status_code")
                    cause = classify(served, failure["code"], status, failure.get("message", ""), response, body)
                    causes[cause] += 1
                    if cause.startswith("SIMULATOR DEFECT"):
                        unexplained.append(f"{recorder['label']} -> {status}: {failure.get('message', '')[:300]}")
    print(f"requests: {requests}; statuses: {dict(sorted(statuses.items()))}; slowest answer: {slowest:.3f} s")
    for cause, count in causes.most_common():
        print(f"{count:>7}  {cause}")
    print(f"simulator defects: {len(unexplained)}")
    for item in unexplained:
        print("  " + item)
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
