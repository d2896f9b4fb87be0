"""The S3 calls `warehouse emr` makes: artifacts under `[emr] artifacts_uri` (put with
SSE-KMS for secrets, head, get) and the step logs under `[emr] log_uri`. The client comes
from `[s3]` (endpoint, region, bounds) and can be injected.

Why not storage/'s ObjectStore (whose client, URI split and bounds this reuses): the
artifacts are not objects of the warehouse root and need what that contract does not
have: "absent" as None rather than InputMissing (a manifest not deployed yet, a step log
not written yet), existence checks by the absolute `s3://` URIs a manifest names, reads
of step logs under `log_uri` (not a key of the root), and puts encrypted with `[emr]
kms_key_id`; and its failures say "check [s3] and the bucket's policy", which `warehouse
emr` prints as they are. Adding these to the ObjectStore
protocol would grow the contract every store and its shared test suite carry for one
caller, and change the messages of `emr deploy` / `emr run`."""

from __future__ import annotations

from typing import Any

from warehouse.config import Config
from warehouse.errors import ConfigError, SourceUnavailable
from warehouse.storage.s3 import S3Limits, make_s3_client, split_s3_uri


def s3_client(cfg: Config) -> Any:
    """Return the S3 client of `[s3]` (bounded calls)."""
    s = cfg.s3
    return make_s3_client(s.endpoint_url, s.region, S3Limits.of(s))


def _fail(uri: str, exc: Exception) -> SourceUnavailable:
    return SourceUnavailable(f"S3 {uri}: {type(exc).__name__}: {exc}; check [s3] and the bucket's policy")


def _not_found(exc: Exception) -> bool:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    return exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


def get_object(client: Any, uri: str) -> bytes | None:
    """Return the object at `uri`, None when it does not exist; raises SourceUnavailable."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = split_s3_uri(uri)
    try:
        return bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    except (ClientError, BotoCoreError) as exc:
        if _not_found(exc):
            return None
        raise _fail(uri, exc) from None


class Artifacts:
    """The `[emr] artifacts_uri` prefix: keys relative to it, `uri(key)` absolute."""

    def __init__(self, uri: str, client: Any, *, kms_key_id: str | None = None) -> None:
        self.bucket, self.prefix = split_s3_uri(uri)
        self.client = client
        self.kms_key_id = kms_key_id

    @classmethod
    def for_config(cls, cfg: Config, client: Any = None) -> Artifacts:
        """Return the artifacts prefix of `cfg`; raises ConfigError when it is not set."""
        uri = cfg.emr.artifacts_uri
        if not uri or not uri.startswith("s3://"):
            raise ConfigError("[emr] artifacts_uri is not set (e.g. s3://bucket/warehouse/artifacts)")
        return cls(uri, client or s3_client(cfg), kms_key_id=cfg.emr.kms_key_id)

    def _k(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        """Return the s3:// URI of `key`."""
        return f"s3://{self.bucket}/{self._k(key)}"

    def put(self, key: str, data: bytes, *, kms: bool) -> None:
        """Write `key` (SSE-KMS with the configured key when `kms`); raises SourceUnavailable."""
        from botocore.exceptions import BotoCoreError, ClientError

        extra: dict[str, str] = {}
        if kms and self.kms_key_id:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._k(key), Body=data, **extra)
        except (ClientError, BotoCoreError) as exc:
            raise _fail(self.uri(key), exc) from None

    def get(self, key: str) -> bytes | None:
        """Return `key`'s bytes, None when absent."""
        return get_object(self.client, self.uri(key))

    def exists(self, key: str) -> bool:
        """Return True when `key` exists."""
        return self.exists_uri(self.uri(key))

    def exists_uri(self, uri: str) -> bool:
        """Return True when the object `uri` exists (any bucket); raises SourceUnavailable."""
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, key = split_s3_uri(uri)
        try:
            self.client.head_object(Bucket=bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            if _not_found(exc):
                return False
            raise _fail(uri, exc) from None
        return True
