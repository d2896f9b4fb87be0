"""One ObjectStore contract, run against the local store and S3 served by moto."""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path
from typing import Any

import pytest

from warehouse.errors import InputMissing
from warehouse.storage import (
    LocalStore,
    ObjectStore,
    S3Store,
    is_remote,
    open_gzip_write,
    open_maybe_gzip,
    open_store,
    read_bytes,
    write_bytes,
)
from warehouse.storage import s3 as s3mod


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> ObjectStore:
    if request.param == "local":
        return LocalStore(tmp_path / "root")
    bucket = request.getfixturevalue("s3_bucket")
    client = request.getfixturevalue("s3_client")
    return S3Store(f"s3://{bucket}/wh", client=client)


def test_write_read_roundtrip(store: ObjectStore) -> None:
    write_bytes(store, "a/b/c.txt", b"hello")
    assert read_bytes(store, "a/b/c.txt") == b"hello"
    assert store.exists("a/b/c.txt")
    assert not store.exists("a/b/missing.txt")


def test_missing_object_is_input_missing(store: ObjectStore) -> None:
    with pytest.raises(InputMissing, match=r"missing\.txt"):
        store.open_read("missing.txt")


def test_failed_write_leaves_nothing(store: ObjectStore) -> None:
    with pytest.raises(RuntimeError), store.open_write("x/part.json") as f:
        f.write(b"partial")
        raise RuntimeError("crash mid-write")
    assert not store.exists("x/part.json")
    assert list(store.list("x/", include_hidden=True)) == []


def test_write_is_invisible_until_closed(store: ObjectStore) -> None:
    with store.open_write("y/part.json") as f:
        f.write(b"1" * 1000)
        assert not store.exists("y/part.json")
        assert [o.key for o in store.list("y/")] == []
    assert store.exists("y/part.json")


def test_overwrite_replaces(store: ObjectStore) -> None:
    write_bytes(store, "k.txt", b"one")
    write_bytes(store, "k.txt", b"two")
    assert read_bytes(store, "k.txt") == b"two"


def test_list_sorted_recursive_and_hides_temporaries(store: ObjectStore) -> None:
    for key in ["e/dt=2/b.gz", "e/dt=1/a.gz", "e/dt=1/_tmp.x", "e/.hidden/z", "f/other"]:
        write_bytes(store, key, b"x")
    assert [o.key for o in store.list("e/")] == ["e/dt=1/a.gz", "e/dt=2/b.gz"]
    assert [o.key for o in store.list("e/dt=1")] == ["e/dt=1/a.gz"]
    hidden = {o.key for o in store.list("e/", include_hidden=True)}
    assert {"e/dt=1/_tmp.x", "e/.hidden/z"} <= hidden
    assert [o.size for o in store.list("f/")] == [1]
    assert list(store.list("nothing/")) == []


def test_delete_and_publish(store: ObjectStore) -> None:
    write_bytes(store, "_staging/p.gz", b"data")
    store.publish("_staging/p.gz", "final/p.gz")
    assert read_bytes(store, "final/p.gz") == b"data"
    assert not store.exists("_staging/p.gz")
    store.delete("final/p.gz")
    store.delete("final/p.gz")  # deleting twice is fine
    assert not store.exists("final/p.gz")


def test_gzip_roundtrip_is_standard_gzip(store: ObjectStore) -> None:
    lines = [f'{{"n": {i}, "s": "héllo\\t"}}\n'.encode() for i in range(5000)]
    with open_gzip_write(store, "g/part.json.gz") as f:
        for line in lines:
            f.write(line)
    raw = read_bytes(store, "g/part.json.gz")
    assert gzip.decompress(raw) == b"".join(lines)
    with open_maybe_gzip(store, "g/part.json.gz") as f:
        assert f.read() == b"".join(lines)


def test_large_write_streams_in_parts(
    store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a small part size makes the S3 store use a real multipart upload
    monkeypatch.setattr(s3mod, "PART_SIZE", 5 * 1024 * 1024)
    chunk = os.urandom(1024 * 1024)
    with store.open_write("big/blob.bin") as f:
        for _ in range(12):
            f.write(chunk)
    with store.open_read("big/blob.bin") as f:
        data = f.read()
    assert len(data) == 12 * len(chunk)
    assert data[: len(chunk)] == chunk


def test_open_store_picks_implementation(tmp_path: Any) -> None:
    assert isinstance(open_store(str(tmp_path)), LocalStore)
    assert isinstance(open_store("s3://bucket/prefix"), S3Store)
    assert open_store("s3://bucket/prefix/").uri("a/b") == "s3://bucket/prefix/a/b"


@pytest.mark.parametrize(
    ("uri", "remote"),
    [
        ("s3://bucket/prefix", True),
        ("s3://bucket", True),
        ("/var/data/wh", False),
        ("relative/wh", False),
        ("file:///var/data/wh", False),
        ("", False),  # stdin's InputSource has no root
    ],
)
def test_store_says_whether_it_is_remote(uri: str, remote: bool, tmp_path: Path) -> None:
    # the store and `is_remote` (for a URI with no store open yet) agree: callers branch on
    # these, never on the URI's scheme
    assert is_remote(uri) is remote
    if uri:
        assert open_store(uri).remote is remote


def test_local_read_is_streaming(tmp_path: Any) -> None:
    store = LocalStore(tmp_path)
    write_bytes(store, "f", b"abc" * 10)
    with store.open_read("f") as f:
        assert isinstance(f, io.BufferedReader)
        assert f.read(3) == b"abc"


def test_name_prefix_listing_and_unfinished_uploads(store: ObjectStore) -> None:
    for key in ("p/dt=1/_tmp.ab-0000.json.gz.x", "p/dt=1/ab-0000.json.gz", "p/dt=1/cd.json.gz",
                "p/dt=10/ab.json.gz"):
        write_bytes(store, key, b"x")
    got = [o.key for o in store.list("p/dt=1/_tmp.ab-", include_hidden=True)]
    assert got == ["p/dt=1/_tmp.ab-0000.json.gz.x"]
    assert [o.key for o in store.list("p/dt=1")] == [
        "p/dt=1/ab-0000.json.gz", "p/dt=1/cd.json.gz", "p/dt=10/ab.json.gz"
    ]
    assert store.abort_uploads("p/") == 0  # nothing unfinished
    if isinstance(store, S3Store):  # a killed writer's multipart upload
        up = store.client.create_multipart_upload(Bucket=store.bucket, Key=store._k("p/big.gz"))
        store.client.upload_part(
            Bucket=store.bucket, Key=store._k("p/big.gz"), UploadId=up["UploadId"],
            PartNumber=1, Body=b"y" * 100,
        )
        assert store.abort_uploads("q/") == 0
        assert store.abort_uploads("p/") == 1
        left = store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
        assert left == []


def test_prune_keeps_objects(store: ObjectStore) -> None:
    write_bytes(store, "pr/load=1/part.gz", b"x")
    store.prune("pr/")
    assert read_bytes(store, "pr/load=1/part.gz") == b"x"


def test_local_failed_first_write_and_prune_leave_no_empty_folder(tmp_path: Path) -> None:
    from warehouse.storage.local import LocalStore

    store = LocalStore(tmp_path)
    write_bytes(store, "t/load=1/part.gz", b"x")
    with pytest.raises(RuntimeError), store.open_write("t/load=2/part.gz") as f:
        f.write(b"partial")
        raise RuntimeError("tunnel dropped")
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["load=1"]
    (tmp_path / "t" / "load=3" / "sub").mkdir(parents=True)  # left by an older version
    assert store.prune("t/") == 2
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["load=1"]
    (tmp_path / "s" / "a" / "b").mkdir(parents=True)
    assert store.prune("s/") == 2 and (tmp_path / "s").is_dir()  # the folder itself stays
    assert store.prune("s/", itself=True) == 1 and not (tmp_path / "s").exists()
    assert store.prune("t/", itself=True) == 0 and (tmp_path / "t" / "load=1").is_dir()
