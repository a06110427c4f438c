"""Hashes, atomic writes and run provenance: every output file says what produced it."""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path
from typing import Any

PLUMBING_NOTE = (
    "PLUMBING CHECK: tiny models with seeded random weights and randomly initialised metric "
    "networks. These numbers exercise the pipeline; they say nothing about any model's quality."
)


_UMASK = os.umask(0)
os.umask(_UMASK)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, then rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs are ordinary files
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def to_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, fixed float repr, trailing newline, so equal data means equal bytes."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, to_json(obj))


def write_jsonl(path: str | Path, rows: list[dict]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in rows))


def read_jsonl(path: str | Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
    return rows


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def clear_stale_staging(final: str | Path) -> list[Path]:
    """Remove `.<name>.staging-<pid>-*` folders left by a killed writer (its pid is gone), and the
    pid-less `.<name>.XXXXXXXX` folders of writers from before pids were recorded.

    A SIGKILL skips every `finally`, so a killed stage leaves its staging folder behind; the next run
    of the same output cleans it, so the tree is clean again (and `release cut` accepts it)."""
    final = Path(final)
    removed = []
    if not final.parent.is_dir():
        return removed
    for p in final.parent.glob(f".{final.name}.*"):
        tag = p.name[len(final.name) + 2:]
        if tag.startswith("staging-"):
            pid = tag.split("-")[1]
            if not pid.isdigit() or _pid_alive(int(pid)):
                continue
        elif len(tag) != 8 or not p.is_dir():  # mkdtemp's 8 random characters, older writers
            continue
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        removed.append(p)
    return removed


class staged_dir:
    """Build a directory under a temporary name and move it into place only on success.

    >>> with staged_dir("outputs/generate/images") as tmp: ...  # write into tmp
    A failure inside the block removes the partial folder, so nothing half-written looks complete;
    a killed writer's folder (named with its pid) is removed by the next writer of the same output.
    """

    def __init__(self, final: str | Path):
        self.final = Path(final)

    def __enter__(self) -> Path:
        self.final.parent.mkdir(parents=True, exist_ok=True)
        clear_stale_staging(self.final)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.final.name}.staging-{os.getpid()}-", dir=self.final.parent))
        os.chmod(self.tmp, 0o777 & ~_UMASK)  # mkdtemp makes 0700; outputs are ordinary folders
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        if self.final.exists():
            shutil.rmtree(self.final)
        os.replace(self.tmp, self.final)


def environment() -> dict[str, str]:
    """Library versions that can move a number; recorded beside every metric."""
    import importlib.metadata as md

    versions = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("torch", "torchvision", "diffusers", "transformers", "torchmetrics",
                "torch-fidelity", "open_clip_torch", "numpy", "scipy", "pillow"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = "not installed"
    return versions


def git(*args: str) -> str:
    import subprocess

    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def hardware() -> dict[str, str]:
    import os as _os

    info = {"cpu": platform.processor() or platform.machine(), "cpu_count": str(_os.cpu_count())}
    try:
        import torch

        info["cuda"] = torch.version.cuda or "none"
        info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
        info["cudnn"] = str(torch.backends.cudnn.version()) if torch.cuda.is_available() else "none"
        info["device"] = f"cuda:0 {info['gpu']}" if torch.cuda.is_available() else "cpu"
        info["torch_threads"] = str(torch.get_num_threads())
    except ImportError:
        info["gpu"] = "unknown"
    info["cpu_model"] = _cpu_model()
    info["driver"] = _gpu_driver()
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpu_driver() -> str:
    """NVIDIA driver version (nvidia-smi, else /proc/driver/nvidia/version), or "none"."""
    import subprocess

    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=20, check=True).stdout.split()
            return out[0] if out else "none"
        except (OSError, subprocess.SubprocessError):
            pass
    proc = Path("/proc/driver/nvidia/version")
    return proc.read_text().splitlines()[0].strip() if proc.exists() else "none"


def dvc_dir_md5(path: str | Path) -> str:
    """DVC 3's md5 of a directory (`<md5>.dir`): md5 of the sorted JSON list of (relpath, file md5)."""
    path = Path(path)
    entries = []
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h = hashlib.md5()
        with open(f, "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
        entries.append({"md5": h.hexdigest(), "relpath": f.relative_to(path).as_posix()})
    entries.sort(key=lambda e: e["relpath"])
    return hashlib.md5(json.dumps(entries, sort_keys=True).encode("utf-8")).hexdigest() + ".dir"


def declared_md5(dvc_file: str | Path = "data.dvc") -> str | None:
    """The md5 a `.dvc` file pins for its (first) output, or None when there is no such file."""
    import yaml

    dvc_file = Path(dvc_file)
    if not dvc_file.is_file():
        return None
    outs = (yaml.safe_load(dvc_file.read_text()) or {}).get("outs") or [{}]
    return outs[0].get("md5")


def params_sha256(params: dict) -> str:
    """sha256 of params in canonical JSON (key order and YAML layout do not matter)."""
    return sha256_bytes(json.dumps(params, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))


def weights_files(params: dict) -> dict[str, str]:
    """Every weights file params names: `<section>.<key>` -> path, for keys ending in `_weights`."""
    found = {}
    for section, body in params.items():
        if isinstance(body, dict):
            for key, value in body.items():
                if key.endswith("_weights") and isinstance(value, str) and value:
                    found[f"{section}.{key}"] = value
    return found


def weights_files_sha256(params: dict) -> dict[str, dict[str, str | None]]:
    """`<section>.<key>` -> {path, sha256} for each weights file params names (sha256 None: file absent)."""
    return {key: {"path": path, "sha256": sha256_file(path) if Path(path).is_file() else None}
            for key, path in weights_files(params).items()}


def report_provenance(lock: str | Path = "dvc.lock", params: str | Path = "params.yaml",
                data_dvc: str | Path = "data.dvc") -> dict:
    """Where a report came from: git commit (and whether the tree was dirty), dvc.lock hash, versions,
    hardware (device, CUDA, driver), the sha256 of each weights file, the data md5 and the params hash."""
    import yaml

    lock, params = Path(lock), Path(params)
    values = (yaml.safe_load(params.read_text()) or {}) if params.is_file() else {}
    return {"git_commit": git("rev-parse", "HEAD"), "git_dirty": bool(git("status", "--porcelain")),
            "dvc_lock_sha256": sha256_file(lock) if lock.exists() else None,
            "libraries": environment(), "hardware": hardware(),
            "weights_sha256": weights_files_sha256(values), "data_md5": declared_md5(data_dvc),
            "params_sha256": params_sha256(values) if values else None}
