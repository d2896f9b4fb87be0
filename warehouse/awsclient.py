"""boto3 clients as every AWS-facing module needs them: bounded calls, masked credentials."""

from __future__ import annotations

from typing import Any


def aws_client(
    service: str,
    *,
    region: str | None,
    endpoint_url: str | None,
    connect_timeout: float,
    read_timeout: float,
    max_attempts: int,
) -> Any:
    """Return a boto3 client for `service` (credentials from the usual boto3 chain) whose
    calls time out and retry a bounded number of times, and whose secret key and session
    token are registered with `warehouse.redact` so they never reach a log."""
    import boto3
    from botocore.config import Config as BotoConfig

    from warehouse.redact import register_boto3_credentials

    session: Any = boto3.session.Session()  # `service` is a variable: no per-service stub
    register_boto3_credentials(session)
    return session.client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        config=BotoConfig(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
        ),
    )
