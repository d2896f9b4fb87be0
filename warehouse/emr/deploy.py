"""`warehouse emr deploy`: put what a cluster needs under `[emr] artifacts_uri`, content-addressed.

Layout (each folder named by the digest of what it holds, so an object once written never
changes and a re-run uploads only what is new):

    ARTIFACTS/wheels/<digest>/warehouse-X-py3-none-any.whl
    ARTIFACTS/bootstrap/<digest>/{install-toolkit,install-sqoop,setup-cron}.sh
    ARTIFACTS/config/<digest>/warehouse.toml and files/...     (see bundle.py)
    ARTIFACTS/secrets/<digest>/... and .index (the names)       (SSE-KMS with kms_key_id)
    ARTIFACTS/deploy.json    the last deployment: which of the above a cluster uses

`deploy.json` is written last, so `emr create` never sees a deployment whose objects are
not all there. One config per artifacts_uri (deploy.json is its pointer).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from warehouse.config import Config
from warehouse.emr.bundle import CONFIG_NAME, Bundle, build_bundle, tree_digest
from warehouse.emr.s3 import Artifacts
from warehouse.errors import ConfigError, CorruptState, InputMissing, JobFailed
from warehouse.resources import resource_dir

SCRIPTS = ("install-toolkit.sh", "install-sqoop.sh", "setup-cron.sh")
MANIFEST = "deploy.json"
SECRETS_INDEX = ".index"  # in the secrets folder: an object to name (the folder is a prefix)


@dataclass(frozen=True)
class Deployment:
    """What one `emr deploy` put in S3 (the content of deploy.json)."""

    wheel: str
    scripts: dict[str, str]
    config: str  # the folder holding warehouse.toml and files/ (ends with /)
    config_digest: str
    secrets: str | None = None  # the secrets folder (ends with /), if any

    @property
    def config_file(self) -> str:
        """Return the URI of the config file (setup-cron.sh takes the files beside it)."""
        return self.config + CONFIG_NAME

    @property
    def secrets_index(self) -> str | None:
        """Return the URI of the secrets folder's index (the names, no values)."""
        return self.secrets + SECRETS_INDEX if self.secrets else None

    @property
    def objects(self) -> list[str]:
        """Return the URIs of the objects a cluster's bootstrap actions name."""
        index = [self.secrets_index] if self.secrets_index else []
        return [self.wheel, *self.scripts.values(), self.config_file, *index]


@dataclass
class DeployResult:
    """The outcome of `emr deploy`: objects uploaded, objects already there."""

    deployment: Deployment
    manifest: str
    uploaded: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    exit_code: int = 0

    def line(self) -> str:
        """Return the one-line summary."""
        return (
            f"emr deploy: {len(self.uploaded)} uploaded, {len(self.present)} already there; "
            f"config {self.deployment.config_digest} -> {self.manifest}"
        )


def build_wheel(out_dir: Path) -> Path:
    """Build this toolkit's wheel from its source checkout into `out_dir` (offline with
    hatchling installed, else `pip wheel`); raises ConfigError/JobFailed."""
    src = Path(__file__).resolve().parents[2]
    if not (src / "pyproject.toml").is_file():
        raise ConfigError(
            f"no source checkout at {src} to build the wheel from: pass --wheel PATH"
        )
    if importlib.util.find_spec("hatchling") is not None:
        argv = [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out_dir)]
    else:  # builds in an isolated environment: needs the package index
        argv = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out_dir), str(src)]
    proc = subprocess.run(argv, cwd=src, capture_output=True, text=True, check=False)
    wheels = sorted(out_dir.glob("warehouse-*.whl"))
    if proc.returncode != 0 or len(wheels) != 1:
        tail = (proc.stderr or proc.stdout).strip()[-400:]
        raise JobFailed(f"building the wheel failed: `{' '.join(argv)}` exit {proc.returncode}: {tail}")
    return wheels[0]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _file_root(path: Path) -> str:
    """Return the `[warehouse] root` the config file itself names (what the master gets)."""
    import tomllib

    from warehouse.config import DEFAULT_ROOT

    data = tomllib.loads(path.read_text(encoding="utf-8"))
    root = (data.get("warehouse") or {}).get("root", DEFAULT_ROOT)
    return str(root)


def deploy(cfg: Config, *, wheel: str | Path | None = None, store: Artifacts | None = None) -> DeployResult:
    """Upload the wheel (built when None), bootstrap scripts, config bundle and secrets;
    return what was uploaded and what was there. Raises ConfigError (a config the master
    would refuse, a missing file), InputMissing (the wheel), SourceUnavailable (S3)."""
    from warehouse.configcheck import check

    if cfg.path is None:
        raise ConfigError("emr deploy: give the config file (--config FILE): it is what the cluster runs")
    check(cfg.path)  # what setup-cron.sh's `config check` would refuse fails here first
    _check_root(cfg, cfg.path)
    art = store or Artifacts.for_config(cfg)
    bundle = build_bundle(cfg)
    wheel_name, wheel_bytes = _wheel(wheel)
    wheel_key = f"wheels/{_digest(wheel_bytes)}/{wheel_name}"
    objects: list[tuple[str, bytes, bool]] = [(wheel_key, wheel_bytes, False)]
    scripts = {name: (resource_dir("bootstrap") / name).read_bytes() for name in SCRIPTS}
    script_dir = f"bootstrap/{tree_digest(scripts)}"
    objects += [(f"{script_dir}/{n}", b, False) for n, b in scripts.items()]
    config_dir = f"config/{bundle.digest}/"
    objects += [(config_dir + rel, data, False) for rel, data in sorted(bundle.files.items())]
    secrets_dir = _secret_objects(bundle, objects)
    dep = Deployment(
        wheel=art.uri(wheel_key),
        scripts={n: art.uri(f"{script_dir}/{n}") for n in SCRIPTS},
        config=art.uri(config_dir),
        config_digest=bundle.digest,
        secrets=art.uri(secrets_dir) if secrets_dir else None,
    )
    return _upload(art, objects, dep)


def _check_root(cfg: Config, path: Path) -> None:
    """Raise ConfigError unless the root the config file names is on S3 and is the root
    in effect (the master reads the file, not --root or WAREHOUSE_ROOT)."""
    shipped = _file_root(path)
    if not shipped.startswith("s3://"):
        raise ConfigError(
            f"[warehouse] root {shipped} in {path} is not on S3: a cluster's local disks "
            "go with it; set root = \"s3://bucket/prefix\""
        )
    if shipped.rstrip("/") != cfg.root.rstrip("/"):
        raise ConfigError(
            f"root {cfg.root} (--root or WAREHOUSE_ROOT) is not the [warehouse] root {shipped} "
            f"of {path}, which the cluster runs: set the root in the file"
        )


def _wheel(wheel: str | Path | None) -> tuple[str, bytes]:
    """Return the wheel's file name and bytes (built now when None); raises ConfigError
    for a file that is not a wheel, InputMissing for one that does not exist."""
    with tempfile.TemporaryDirectory(prefix="warehouse-wheel-") as tmp:
        if wheel is None:
            path = build_wheel(Path(tmp))
        else:
            path = Path(wheel)
            if not path.name.endswith(".whl"):
                raise ConfigError(f"{path} is not a wheel (warehouse-X-py3-none-any.whl)")
            if not path.is_file():
                raise InputMissing(f"wheel {path} does not exist; build it or drop --wheel")
        return path.name, path.read_bytes()


def _upload(art: Artifacts, objects: list[tuple[str, bytes, bool]], dep: Deployment) -> DeployResult:
    """Put each object not there yet (secrets with SSE-KMS), then the manifest naming
    `dep` last, so that a manifest only names objects that exist; return what was done."""
    result = DeployResult(dep, art.uri(MANIFEST))
    for key, data, secret in objects:
        if art.exists(key):
            result.present.append(art.uri(key))
        else:
            art.put(key, data, kms=secret)
            result.uploaded.append(art.uri(key))
    manifest = json.dumps(asdict(dep), indent=2, sort_keys=True).encode() + b"\n"
    if art.get(MANIFEST) == manifest:
        result.present.append(result.manifest)
    else:
        art.put(MANIFEST, manifest, kms=False)  # last: a deployment whose objects all exist
        result.uploaded.append(result.manifest)
    return result


def _secret_objects(bundle: Bundle, objects: list[tuple[str, bytes, bool]]) -> str | None:
    """Append the secret files to `objects`; return their folder key (None: no secrets)."""
    if not bundle.secrets:
        return None
    folder = f"secrets/{bundle.secrets_digest()}/"
    objects += [(folder + rel, p.read_bytes(), True) for rel, p in sorted(bundle.secrets.items())]
    index = "".join(f"{rel}\n" for rel in sorted(bundle.secrets)).encode()
    objects.append((folder + SECRETS_INDEX, index, True))
    return folder


def load_deployment(cfg: Config, *, store: Artifacts | None = None) -> Deployment:
    """Return the last deployment of this config, checked: every object it names exists in
    S3 and its config is the local one. Raises InputMissing (not deployed, or an object
    gone) or ConfigError (the config changed since the deploy)."""
    art = store or Artifacts.for_config(cfg)
    raw = art.get(MANIFEST)
    if raw is None:
        raise InputMissing(f"no deployment at {art.uri(MANIFEST)}: run `warehouse emr deploy` first")
    try:
        data: dict[str, Any] = json.loads(raw)
        dep = Deployment(**data)
    except (ValueError, TypeError) as exc:
        raise CorruptState(
            f"{art.uri(MANIFEST)} is damaged ({type(exc).__name__}): run `warehouse emr deploy` again"
        ) from None
    missing = [uri for uri in dep.objects if not art.exists_uri(uri)]
    if missing:
        raise InputMissing(
            f"deployed object {missing[0]} is missing ({len(missing)} in all): "
            "run `warehouse emr deploy` again"
        )
    try:
        local = build_bundle(cfg).digest
    except ConfigError:  # a file the config names is not on this machine: cannot compare
        return dep
    if local != dep.config_digest:
        raise ConfigError(
            f"config {cfg.path} changed since the last `warehouse emr deploy` (deployed "
            f"{dep.config_digest}, now {local}): run `warehouse emr deploy` first"
        )
    return dep
