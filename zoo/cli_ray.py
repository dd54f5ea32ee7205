"""`zoo run ... --engine ray`: the same restoration on a Ray cluster, through Ray Data.

    zoo run feature-recon photos/ --recursive --out recon/ --engine ray --workers 4          # local cluster
    zoo run feature-recon /shared/scans --out /shared/out --engine ray --address HOST:6379  # a cluster

The driver plans exactly as the local engine does (inputs, outputs, --skip-existing, --out apart from
the inputs) and cuts the plan into the same chunks of --batch-size inputs. Each chunk is one row of a
Ray Dataset; `map_batches` hands chunks to a pool of actors, each of which loads the pipeline once and
restores a chunk with the local engine's own code (`zoo.cli_run.Restorer`), writing each output
atomically where the driver planned it. So the outputs are byte for byte the local engine's, and every
worker must see the inputs and the output folder at the same paths (shared storage on a cluster).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Iterator

from .cli_run import Job, Restorer, chunks_of

CONNECT_TIMEOUT_S = 5.0  # how long an --address may take to accept a TCP connection


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ValueError(
            "--engine ray needs Ray, which is not installed: pip install 'restoration-zoo[ray]' "
            "(or pip install 'ray[data]')"
        ) from None
    return ray


def check_job_here(job: Job) -> None:
    """The options' errors (a mask missing, --damage without --corrupt, ...) before a cluster starts:
    the driver builds the restorer once (a few seconds for the largest model) and drops it."""
    _import_ray()
    Restorer(job)


# An HTTP/2 client preface and an empty SETTINGS frame: a Ray cluster's GCS (and the Ray Client server)
# is a gRPC server, which answers with a SETTINGS frame of its own.
_GRPC_HELLO = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def check_address(address: str) -> None:
    """A cluster address must accept a TCP connection and answer like a gRPC server within
    CONNECT_TIMEOUT_S; otherwise a ValueError naming it. (ray.init itself waits without end on a server
    that accepts connections and never answers.)"""
    if address == "auto":
        return
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    hint = (
        "start one with `ray start --head`, fix --address / $RAY_ADDRESS, or leave both out for a local "
        "cluster"
    )
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_TIMEOUT_S) as sock:
            sock.sendall(_GRPC_HELLO)
            reply = sock.recv(9)
    except socket.timeout:
        reply = b""
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"no Ray cluster answers at {address} ({type(exc).__name__}: {exc}); {hint}"
        ) from None
    if len(reply) < 4 or reply[3] != 0x04:  # no SETTINGS frame: not a gRPC server, or a silent one
        raise ValueError(
            f"no Ray cluster answers at {address}: it accepts connections but gave no gRPC answer in "
            f"{CONNECT_TIMEOUT_S:g} s; {hint}"
        )


class _ChunkRestorer:
    """A Ray actor: one pipeline, loaded once, restoring the chunks Ray hands it."""

    def __init__(self, job: dict) -> None:
        self.restorer = Restorer(Job(**job))

    def __call__(self, batch: dict) -> dict:
        rows = []
        for chunk in batch["chunk"]:
            rows += self.restorer.restore(json.loads(chunk))
        return {"row": [json.dumps(r) for r in rows]}


def _map(dataset, ray, job: Job, workers: int, chunks: int, gpus: float):
    return dataset.map_batches(
        _ChunkRestorer,
        fn_constructor_kwargs={"job": asdict(job)},
        batch_size=1,  # one chunk per call: the local engine's batches exactly
        compute=ray.data.ActorPoolStrategy(size=min(workers, chunks)),
        num_cpus=1,
        num_gpus=gpus or None,
        max_restarts=0,  # a dead actor is an error to see, not a silent restart
    )


def run_ray(job: Job, plan: list, args: argparse.Namespace) -> Iterator[dict]:
    """Rows of every chunk, restored by `--workers` actors; yields them as they come back."""
    from tqdm.auto import tqdm

    ray = _import_ray()
    address = args.address or os.environ.get("RAY_ADDRESS")
    workers = args.workers or (os.cpu_count() or 1)
    if not plan:
        return
    started_here = not ray.is_initialized()
    if started_here:
        options = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        if address:
            check_address(address)
            try:
                ray.init(address=address, **options)
            except (ConnectionError, RuntimeError, TimeoutError) as exc:  # it accepts TCP, but is no Ray
                raise ValueError(
                    f"could not join the Ray cluster at {address} ({type(exc).__name__}: {str(exc)[:200]}). "
                    "Check --address / $RAY_ADDRESS (`ray status` on the cluster prints it); a cluster with "
                    "token authentication (Ray's default since 2.52) needs RAY_AUTH_MODE=token here, and "
                    "its token in $RAY_AUTH_TOKEN or ~/.ray/auth_token"
                ) from None
        else:  # a local cluster: its workers import the zoo from where this process does
            package_root = str(Path(__file__).resolve().parents[1])
            env = {"PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
            ray.init(num_cpus=workers, runtime_env={"env_vars": env}, **options)
    try:
        from ray.data import DataContext

        for name in ("ray", "ray.data"):  # its plan and progress lines would bury the summary
            logging.getLogger(name).setLevel(logging.ERROR)
        DataContext.get_current().enable_progress_bars = False
        chunks = chunks_of(plan, job.batch_size)
        dataset = ray.data.from_items(
            [{"chunk": json.dumps(c)} for c in chunks], override_num_blocks=len(chunks)
        )
        with warnings.catch_warnings():  # max_restarts is passed as an actor option, a deprecated spelling
            warnings.simplefilter("ignore")
            restored = _map(dataset, ray, job, workers, len(chunks), args.gpus_per_worker)
        with tqdm(total=len(plan), desc=f"{job.name} (ray)", unit="img", disable=args.quiet) as bar:
            for record in restored.iter_rows():
                row = json.loads(record["row"])
                bar.update(1)
                yield row
    finally:
        if started_here:
            ray.shutdown()
