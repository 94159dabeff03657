"""Multi-process training set-up, shared by the trainers: one process per device under ``torchrun``.

Why one function: SeqHAND-Net and CADSTN read the same ``torchrun`` variables (WORLD_SIZE, RANK, LOCAL_RANK) and
pick the same backend (NCCL on GPUs, gloo on CPUs); a single process (no ``torchrun``) is world 1, rank 0.
"""
from __future__ import annotations

import os

import torch


def init_distributed() -> tuple[int, int, torch.device]:
    """(rank, world size, this process's device); joins the process group when there are several processes."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    cuda = torch.cuda.is_available()
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if cuda else "gloo")
    return rank, world, device
