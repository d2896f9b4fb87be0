"""Pick the store for a URI: the only place that branches on local versus S3."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from warehouse.storage.base import ObjectStore
from warehouse.storage.local import LocalStore
from warehouse.storage.s3 import S3Limits, S3Store

if TYPE_CHECKING:
    from warehouse.config import Config, S3Config


_S3 = "s3://"


def is_remote(uri: str) -> bool:
    """Return True when `uri` names a remote store (s3://): what `open_store(uri).remote`
    says, without opening it. Local paths, file:// URIs and `""` (stdin) are not remote."""
    return uri.startswith(_S3)


def open_store(uri: str, s3: S3Config | None = None, *, client: Any = None) -> ObjectStore:
    """Return the ObjectStore rooted at `uri` (a local path, file:// or s3://)."""
    if is_remote(uri):
        return S3Store(
            uri,
            endpoint_url=s3.endpoint_url if s3 else None,
            region=s3.region if s3 else None,
            client=client,
            limits=S3Limits.of(s3) if s3 else None,
        )
    return LocalStore(uri)


def store_for_config(cfg: Config, *, client: Any = None) -> ObjectStore:
    """Return the store of the warehouse root."""
    return open_store(cfg.root, cfg.s3, client=client)


def split_uri(uri: str) -> tuple[str, str]:
    """Split an input URI into (store root, key): the parent folder and the object name.

    For s3:// the root is the bucket; for local paths the root is `/`-anchored parent.
    """
    if is_remote(uri):
        bucket, _, key = uri[len(_S3) :].partition("/")
        return f"{_S3}{bucket}", key
    from pathlib import Path

    p = Path(uri).expanduser().absolute()
    return str(p.parent), p.name
