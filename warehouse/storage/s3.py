"""S3 ObjectStore over boto3: streaming multipart upload, streaming download.

A write is a multipart upload completed only when the `with` block exits cleanly (objects
under 8 MiB use one PutObject at close); on error the upload is aborted, so no reader
ever sees a partial object. Memory per writer is one part buffer (8 MiB).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from warehouse.awsclient import aws_client
from warehouse.config import S3Config
from warehouse.errors import CorruptState, InputMissing, SourceUnavailable
from warehouse.storage.base import ObjectInfo, _ChunkReader, is_hidden
from warehouse.storage.keys import refuse_unsafe, show, unsafe_reason

PART_SIZE = 8 * 1024 * 1024


def split_s3_uri(uri: str) -> tuple[str, str]:
    """Return (bucket, key prefix) of `s3://bucket/prefix`; raises ValueError."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri}")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {uri}")
    return bucket, prefix.strip("/")


@dataclass(frozen=True)
class S3Limits:
    """Bounds of every S3 call: connect and read timeouts, total attempts per call."""

    connect_timeout: float
    read_timeout: float
    max_attempts: int

    @classmethod
    def of(cls, s3: S3Config) -> S3Limits:
        """Return the bounds `[s3]` sets (its defaults are the only ones)."""
        return cls(s3.connect_timeout_seconds, s3.read_timeout_seconds, s3.max_attempts)


def make_s3_client(
    endpoint_url: str | None = None, region: str | None = None, limits: S3Limits | None = None
) -> Any:
    """Return a boto3 S3 client (credentials from the usual boto3 chain) with bounded calls."""
    lim = limits or S3Limits.of(S3Config())
    return aws_client("s3", region=region, endpoint_url=endpoint_url,
                      connect_timeout=lim.connect_timeout, read_timeout=lim.read_timeout,
                      max_attempts=lim.max_attempts)


def _unavailable(uri: str, exc: Exception) -> SourceUnavailable:
    """Return the one-line error of a failed S3 call: the object, the cause, the endpoint."""
    from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

    if isinstance(exc, ReadTimeoutError | ConnectTimeoutError | EndpointConnectionError):
        endpoint = exc.kwargs.get("endpoint_url", "")
        endpoint = endpoint.split("?")[0]
        what = {
            ReadTimeoutError: "no answer",
            ConnectTimeoutError: "connect timed out",
        }.get(type(exc), "cannot connect")
        return SourceUnavailable(
            f"S3 {uri} unavailable: {what} from {endpoint} (after the [s3] timeouts and "
            "retries); check [s3] endpoint_url and the network"
        )
    return SourceUnavailable(f"S3 {uri} unavailable: {type(exc).__name__}: {exc}")


class _MultipartWriter(io.RawIOBase):
    """Buffer PART_SIZE bytes and upload parts; `finish()` completes, `abort()` cancels."""

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self._client, self._bucket, self._key = client, bucket, key
        self._buf = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self._buf += b
        if len(self._buf) >= PART_SIZE:
            self._flush_part()
        return len(b)

    def _flush_part(self) -> None:
        if self._upload_id is None:
            resp = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key)
            self._upload_id = resp["UploadId"]
        number = len(self._parts) + 1
        resp = self._client.upload_part(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=bytes(self._buf),
        )
        self._parts.append({"ETag": resp["ETag"], "PartNumber": number})
        self._buf.clear()

    def finish(self) -> None:
        if self._upload_id is None:
            self._client.put_object(Bucket=self._bucket, Key=self._key, Body=bytes(self._buf))
            return
        if self._buf:
            self._flush_part()
        self._client.complete_multipart_upload(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )

    def abort(self) -> None:
        if self._upload_id is not None:
            self._client.abort_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload_id
            )


class S3Store:
    """Objects under `s3://bucket/prefix`; the boto3 client is created lazily or injected."""

    remote = True

    def __init__(
        self,
        root: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
        limits: S3Limits | None = None,
    ) -> None:
        self.bucket, self.prefix = split_s3_uri(root)
        self.root = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        self._endpoint_url, self._region = endpoint_url, region
        self._limits = limits
        self._client = client

    @property
    def client(self) -> Any:
        """Return the boto3 client, creating it on first use."""
        if self._client is None:
            self._client = make_s3_client(self._endpoint_url, self._region, self._limits)
        return self._client

    def check_root(self) -> None:
        """Fail fast when the bucket is missing or S3 cannot be reached (SourceUnavailable)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchBucket", "NotFound"):
                raise SourceUnavailable(
                    f"bucket s3://{self.bucket} does not exist; create it or fix the root "
                    "([warehouse] root, --root, WAREHOUSE_ROOT)"
                ) from None
            if code in ("403", "AccessDenied"):
                return  # rights on a prefix only (no s3:ListBucket): the calls will tell
            raise _unavailable(self.root, exc) from None
        except BotoCoreError as exc:
            raise _unavailable(self.root, exc) from None

    def _k(self, key: str) -> str:
        refuse_unsafe(key, self.root)  # the last guard: a `..` may be resolved on the way
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        """Return `s3://bucket/prefix/key`."""
        return f"s3://{self.bucket}/" + (f"{self.prefix}/{key}" if self.prefix else key)

    def open_read(self, key: str) -> IO[bytes]:
        """Return a streaming reader of the object; raises InputMissing or SourceUnavailable."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=self._k(key))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NoSuchBucket"):
                raise InputMissing(f"{self.uri(key)} does not exist") from None
            raise _unavailable(self.uri(key), exc) from None
        except BotoCoreError as exc:
            raise _unavailable(self.uri(key), exc) from None
        return io.BufferedReader(_ChunkReader(resp["Body"], self.uri(key)), buffer_size=1024 * 1024)

    @contextmanager
    def open_write(self, key: str) -> Iterator[IO[bytes]]:
        """Stream to a multipart upload that completes only on clean exit."""
        from botocore.exceptions import BotoCoreError, ClientError

        writer = _MultipartWriter(self.client, self.bucket, self._k(key))
        buffered = io.BufferedWriter(writer, buffer_size=1024 * 1024)
        try:
            yield buffered
            buffered.flush()
            writer.finish()
        except (BotoCoreError, ClientError) as exc:
            _quiet_abort(writer)
            raise _unavailable(self.uri(key), exc) from None
        except BaseException:
            _quiet_abort(writer)
            raise

    def list(self, prefix: str = "", *, include_hidden: bool = False) -> Iterator[ObjectInfo]:
        """Yield objects whose key starts with `prefix`, sorted by key."""
        from botocore.exceptions import BotoCoreError, ClientError

        full = self._k(prefix)
        strip = len(self.prefix) + 1 if self.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                for obj in page.get("Contents", []):
                    key = obj["Key"][strip:]
                    if key.endswith("/"):
                        continue  # console-made "folder" markers
                    why = unsafe_reason(key, inner_empty=True)
                    if why is not None:  # would be deleted, read or copied as a path
                        raise CorruptState(
                            f"{self.uri(prefix)}: listed object key {show(obj['Key'])} {why}; "
                            "nothing was deleted; rename or remove that object"
                        )
                    if not include_hidden and is_hidden(key[len(prefix) :]):
                        continue
                    yield ObjectInfo(key, int(obj["Size"]))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
                # a missing bucket is a source unavailable (3), as `check_root` says
                raise SourceUnavailable(
                    f"bucket s3://{self.bucket} does not exist; create it or fix the "
                    "warehouse root or input"
                ) from None
            raise _unavailable(self.uri(prefix), exc) from None
        except BotoCoreError as exc:
            raise _unavailable(self.uri(prefix), exc) from None

    def abort_uploads(self, prefix: str) -> int:
        """Abort the incomplete multipart uploads under `prefix` (a killed writer's)."""
        from botocore.exceptions import BotoCoreError, ClientError

        full = self._k(prefix)
        n = 0
        try:
            paginator = self.client.get_paginator("list_multipart_uploads")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                for up in page.get("Uploads", []):
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=up["Key"], UploadId=up["UploadId"]
                    )
                    n += 1
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(self.uri(prefix), exc) from None
        return n

    def exists(self, key: str) -> bool:
        """Return True when the object exists."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._k(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise _unavailable(self.uri(key), exc) from None
        except BotoCoreError as exc:
            raise _unavailable(self.uri(key), exc) from None

    def delete(self, key: str) -> None:
        """Delete the object (missing is fine)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._k(key))
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(self.uri(key), exc) from None

    def prune(self, prefix: str, *, itself: bool = False) -> int:
        """Return 0: S3 has no folders, a prefix vanishes with its last object."""
        return 0

    def publish(self, src: str, dst: str) -> None:
        """Server-side copy `src` to `dst`, then delete `src` (S3 has no rename)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.copy(
                {"Bucket": self.bucket, "Key": self._k(src)}, self.bucket, self._k(dst)
            )
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(self.uri(dst), exc) from None
        self.delete(src)


def _quiet_abort(writer: _MultipartWriter) -> None:
    with contextlib.suppress(Exception):  # the original error matters more
        writer.abort()
