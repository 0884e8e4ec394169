"""Process groups for data-parallel training: under torchrun (RANK/WORLD_SIZE/LOCAL_RANK in the
environment, any number of nodes) or through the built-in spawn launcher (one node,
torch.multiprocessing.spawn + env:// rendezvous) where torchrun is unavailable."""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any, Callable, List

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


@dataclass
class Context:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def all_reduce_sum(self, t: torch.Tensor) -> torch.Tensor:
        if self.distributed:
            # gloo and nccl both reduce float64 on CPU/GPU; the caller passes a tensor on self.comm_device
            dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t

    def all_gather_object(self, obj: Any) -> List[Any]:
        if not self.distributed:
            return [obj]
        out: List[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def broadcast_object(self, obj: Any) -> Any:
        if not self.distributed:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ and "LOCAL_RANK" in os.environ


def pick_device(local_rank: int, requested: str = "auto") -> torch.device:
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("--device cuda: no CUDA device is available")
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device(requested)


def init_process_group(device: torch.device) -> Context:
    """Joins the group described by the environment (env:// rendezvous); a single process when
    WORLD_SIZE is absent or 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, init_method="env://", rank=rank, world_size=world)
    return Context(rank=rank, world_size=world, local_rank=local, device=device)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawned(local_rank: int, nprocs: int, port: int, fn: Callable, args: tuple) -> None:
    os.environ.update({"RANK": str(local_rank), "LOCAL_RANK": str(local_rank), "WORLD_SIZE": str(nprocs),
                       "LOCAL_WORLD_SIZE": str(nprocs), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    try:
        fn(*args)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def spawn(fn: Callable, nprocs: int, args: tuple = ()) -> None:
    """Runs fn(*args) in `nprocs` processes on this machine, each with RANK/WORLD_SIZE set as
    torchrun would (the rendezvous is env:// on a free local port)."""
    port = int(os.environ.get("MASTER_PORT") or free_port())
    mp.spawn(_spawned, args=(nprocs, port, fn, args), nprocs=nprocs, join=True)


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
