"""Which CPU kernels ran, finer than the CPU's marketing name: part of a release's `hardware` fingerprint.

Two hosts that both report `cpu_model: AMD EPYC`, with the same libraries, scored the same images
with FID, KID and CMMD intervals up to 5e-13 apart (relative). `verify` asks for bit-exact quality
only on the same platform; there the hosts differed in their kernel build (`libraries.platform`),
which is luck: a CPU name alone cannot tell apart a Zen 4 from a Zen 5 behind one hypervisor image.
So the platform also says what decides CPU numerics: vendor, family, model and stepping, the
instruction-set flags (hashed), the kernel ISA torch dispatches to
(`torch.backends.cpu.get_cpu_capability()`: DEFAULT, AVX2, AVX512, ...) and the BLAS builds numpy
and scipy loaded with the kernels they picked (threadpoolctl). (The same pair of hosts also showed
why `cut` now refuses numbers made on another platform: a fingerprint taken at cut time describes
the cutting machine, not the one that made the numbers.)

A field that differs makes `verify` use the other-platform tolerances (a stated band) instead of
bit-exact; it never fails a verification by itself. A release cut before these fields existed has
none of them, so it is checked with the other-platform tolerances everywhere.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

CPUINFO_FIELDS = {"vendor_id": "cpu_vendor", "cpu family": "cpu_family", "model": "cpu_model_number",
                  "stepping": "cpu_stepping"}
UNKNOWN = "unknown"


def parse_cpuinfo(text: str) -> dict[str, str]:
    """The first processor's vendor, family, model number, stepping and a sha256 of its sorted flags."""
    first = text.strip().split("\n\n", 1)[0]
    fields: dict[str, str] = {}
    for line in first.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    out = {name: fields.get(key, UNKNOWN) or UNKNOWN for key, name in CPUINFO_FIELDS.items()}
    flags = fields.get("flags") or fields.get("Features")  # x86 | arm64
    out["cpu_flags_sha256"] = (hashlib.sha256(" ".join(sorted(flags.split())).encode()).hexdigest()[:16]
                               if flags else UNKNOWN)
    return out


def torch_kernel_isa() -> str:
    try:
        import torch

        return str(torch.backends.cpu.get_cpu_capability())
    except (ImportError, AttributeError):
        return UNKNOWN


def blas_kernels() -> str:
    """`<library> <version> <kernel architecture>` of every BLAS numpy and scipy loaded, sorted."""
    try:
        import numpy  # noqa: F401  (threadpoolctl sees only loaded libraries)
        import scipy.linalg  # noqa: F401
        from threadpoolctl import threadpool_info
    except ImportError:
        return UNKNOWN
    found = sorted({f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')}"
                    for i in threadpool_info() if i.get("user_api") == "blas"})
    return "; ".join(found) or UNKNOWN


def cpu_identity(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict[str, str]:
    """The platform fields above for this machine ("unknown" for any that cannot be read)."""
    try:
        out = parse_cpuinfo(cpuinfo.read_text())
    except OSError:
        out = {**{name: UNKNOWN for name in CPUINFO_FIELDS.values()}, "cpu_flags_sha256": UNKNOWN}
    return {**out, "cpu_kernel_isa": torch_kernel_isa(), "blas_kernels": blas_kernels()}
