"""The events that are not HTTP requests but often reach the same function: what they are, so the
error (or the log line) can say "this is an SQS batch" instead of listing keys.

Only shapes are read, never values that may hold data: a message body, a detail. Each test is
exact enough not to claim an HTTP event of any source (every source's ``matches`` runs first
anyway: this is only consulted for an event no source took).
"""

from __future__ import annotations

# Records[].eventSource (EventSource for SNS) -> what the batch is.
_RECORD_SOURCES = {
    "aws:sqs": "an SQS message batch",
    "aws:sns": "an SNS notification",
    "aws:s3": "an S3 event notification",
    "aws:dynamodb": "a DynamoDB stream batch",
    "aws:kinesis": "a Kinesis stream batch",
    "aws:ses": "an SES email event",
}


def describe_non_http(event: object) -> str | None:
    """What kind of non-HTTP event ``event`` is ("an SQS message batch"), or None when it is not
    one this module knows."""
    if not isinstance(event, dict):
        return None
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        first = records[0]
        if "cf" in first:
            return "a CloudFront (Lambda@Edge) event"
        source = first.get("eventSource", first.get("EventSource"))
        return _RECORD_SOURCES.get(str(source), "a batch of records (Records[])")
    source = event.get("source")
    if "detail-type" in event and isinstance(source, str):
        if event["detail-type"] == "Scheduled Event":
            return "an EventBridge scheduled event"
        return "an EventBridge event"
    if source == "aws.events":  # the minimal stand-in some tools send for a schedule
        return "an EventBridge scheduled event"
    if source == "serverless-plugin-warmup":
        return "a warmer ping (serverless-plugin-warmup)"
    # Before the WebSocket test: a REQUEST authorizer of a WebSocket API gets the connection's
    # context too, and it is the authorizer's question that the function must answer.
    if event.get("type") in ("REQUEST", "TOKEN") and "methodArn" in event:
        return "an API Gateway Lambda authorizer request"
    request_context = event.get("requestContext")
    if isinstance(request_context, dict) and (
        "connectionId" in request_context or "eventType" in request_context
    ):
        return "an API Gateway WebSocket event"
    return None
