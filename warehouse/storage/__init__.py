"""Object storage behind one small contract: local directories and S3."""

from __future__ import annotations

from warehouse.storage.base import (
    GZIP_LEVEL,
    ObjectInfo,
    ObjectStore,
    is_hidden,
    open_gzip_write,
    open_maybe_gzip,
    read_bytes,
    write_bytes,
)
from warehouse.storage.factory import (
    is_remote,
    open_store,
    split_uri,
    store_for_config,
)
from warehouse.storage.local import LocalStore
from warehouse.storage.s3 import S3Store

__all__ = [
    "GZIP_LEVEL",
    "LocalStore",
    "ObjectInfo",
    "ObjectStore",
    "S3Store",
    "is_hidden",
    "is_remote",
    "open_gzip_write",
    "open_maybe_gzip",
    "open_store",
    "read_bytes",
    "split_uri",
    "store_for_config",
    "write_bytes",
]
