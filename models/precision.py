"""Training precision: float32, or the forward passes under bfloat16 autocast.

bfloat16 pays only where the hardware computes it: CPUs with AVX-512 BF16 or AMX (about 2x the steps
per second of float32 for CADSTN, measured on such a host) and CUDA GPUs that support it. Elsewhere
PyTorch emulates it, and a step is many times *slower* than float32 (SeqHAND-Net's compact step on an
AMD EPYC with AVX2 only: 6-10 s against 0.7-0.9 s). So a config's `precision = "bf16"` is a request:
training runs in float32, and says so, where bfloat16 would be emulated. Weights, optimiser and losses
stay float32 either way.
"""
from __future__ import annotations

import logging
from contextlib import AbstractContextManager

import torch

log = logging.getLogger("handstream.precision")

PRECISIONS = ("fp32", "bf16")


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bfloat16 matrix products in hardware."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)  # Ampere and newer
    cpu = getattr(torch, "cpu", None)
    checks = [getattr(cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(check() for check in checks if check is not None)


def training_precision(requested: str, device: torch.device, quiet: bool = False) -> str:
    """The precision to train in: `requested`, unless that is bf16 on a device that would emulate it."""
    if requested not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {requested!r}")
    if requested == "bf16" and not native_bf16(device):
        if not quiet:
            what = "GPU has no native bfloat16" if device.type == "cuda" else \
                "CPU has no native bfloat16 (AVX-512 BF16 or AMX)"
            log.warning("this %s, where a bf16 step runs many times slower than fp32: training in fp32", what)
        return "fp32"
    return requested


def autocast(device: torch.device, precision: str) -> AbstractContextManager:
    """The forward passes' context: bfloat16 autocast for "bf16", a no-op for "fp32"."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
