"""Distributed data-parallel training: ``ROOT.ML.RDataLoader`` with PyTorch DDP, launched by torchrun.

Each process (rank) reads only its own shard of every epoch. The shards are disjoint, drawn anew every
epoch from the seed all ranks share (no communication is needed), cut along the clusters of the files,
and equal, so that every rank takes the same number of steps. Rank 0 checkpoints the model, the
optimiser and the loaders' position; a restarted job resumes in the middle of the epoch where it
stopped, with exactly the batches it would have had.

One machine, four processes:

    torchrun --standalone --nproc_per_node=4 tutorials/ddp_training.py

Two machines, four processes each: start the same command on both, naming the first machine; the data
and the checkpoint must be where every machine can read them (a shared file system, or XRootD):

    torchrun --nnodes=2 --nproc_per_node=4 --rdzv-backend=c10d --rdzv-endpoint=node0.example.org:29500 \\
        --rdzv-id=ddp-tutorial tutorials/ddp_training.py --data /shared/events.root --checkpoint /shared/ckpt.pt

--fast trains on a small dataset for two epochs; --log-dir writes, per rank, the event numbers it
trained on in each epoch, its batches, bytes read and losses (JSON), to see the sharding at work.
"""

import argparse
import json
import os
import tempfile
from pathlib import Path

import torch
import torch.distributed as dist

import ROOT

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--data", help="ROOT file with tree 'events'; rank 0 writes it first if it does not exist")
parser.add_argument("--entries", type=int, default=400_000, help="entries of the file written")
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--checkpoint", help="file where rank 0 saves the run, and from which a new run resumes")
parser.add_argument("--checkpoint-every", type=int, default=100, help="training steps between checkpoints")
parser.add_argument("--log-dir", help="directory for one JSON file per rank describing what it read")
parser.add_argument("--fast", action="store_true", help="20000 entries, 2 epochs")
args = parser.parse_args()
if args.fast:
    args.entries, args.epochs = 20_000, 2
data = args.data or os.path.join(tempfile.gettempdir(), f"rdataloader-ddp-{args.entries}.root")

# torchrun sets RANK, WORLD_SIZE and the rendezvous address for each process it starts.
cuda = torch.cuda.is_available()
dist.init_process_group("nccl" if cuda else "gloo")
rank = dist.get_rank()
device = torch.device("cuda", int(os.environ["LOCAL_RANK"])) if cuda else torch.device("cpu")
if cuda:
    torch.cuda.set_device(device)

# 1. A dataset: clusters of 1000 entries, so that even this small file can be shared out cluster by
#    cluster, as large files are.
if rank == 0 and not os.path.exists(data):
    options = ROOT.RDF.RSnapshotOptions()
    options.fAutoFlush = 1000
    ROOT.RDataFrame(args.entries).Define("event", "(Long64_t)rdfentry_").Define("label", "int(event % 2)") \
        .Define("pt", "float(gRandom->Exp(20) + 15 * label)") \
        .Define("eta", "float(gRandom->Gaus(0, 1.5 - 0.5 * label))") \
        .Define("mass", "float(gRandom->Gaus(80 + 10 * label, 15))") \
        .Snapshot("events", data, ["event", "pt", "eta", "mass", "label"], options)
dist.barrier()

# 2. The loaders take their rank and the world size from torch.distributed. The seed must be the same
#    on every rank: it draws the shards. The event number rides along as the first feature, only to log
#    which events each rank saw (float32 holds event numbers exactly up to 2**24).
train, val = ROOT.ML.RDataLoader(ROOT.RDataFrame("events", data), batch_size=256, target="label", set_seed=2024,
                                 columns=["event", "pt", "eta", "mass", "label"]).train_test_split(0.2)
print(f"rank {rank}: {train}", flush=True)

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
model = torch.nn.parallel.DistributedDataParallel(model.to(device), device_ids=[device.index] if cuda else None)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
loss_fn = torch.nn.BCEWithLogitsLoss()
summed_loss = torch.nn.BCEWithLogitsLoss(reduction="sum")

# 3. Resuming: the loader's state is a plain dict. Rank 0 saved it, and it restores every rank, which
#    then continues the interrupted epoch with the batches it had not yet delivered.
first_epoch = 0
if args.checkpoint and os.path.exists(args.checkpoint):
    saved = torch.load(args.checkpoint, map_location="cpu")
    model.module.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    train.load_state_dict(saved["loader"])
    first_epoch = saved["epoch"]
    print(f"rank {rank}: resuming epoch {first_epoch + 1} after {saved['loader']['running']}", flush=True)


def save(epoch: int) -> None:
    """Rank 0 writes the checkpoint; the others are at the same position."""
    if args.checkpoint and rank == 0:
        state = {"model": model.module.state_dict(), "optimizer": optimizer.state_dict(),
                 "loader": train.state_dict(), "epoch": epoch}
        torch.save(state, args.checkpoint + ".tmp")
        os.replace(args.checkpoint + ".tmp", args.checkpoint)


log, validation_loss = [], float("nan")
for epoch in range(first_epoch, args.epochs):
    model.train()
    events, losses = [], []
    for step, (x, y) in enumerate(train.as_torch(device), start=1):
        events += x[:, 0].long().tolist()
        optimizer.zero_grad()
        loss = loss_fn(model(x[:, 1:]), y)
        loss.backward()  # DDP averages the gradients of all ranks here: every rank must take every step
        optimizer.step()
        losses.append(loss.item())
        if step % args.checkpoint_every == 0:
            save(epoch)
    stats = train.stats()

    # Validation is sharded too; the ranks add up their sums.
    model.eval()
    total = torch.zeros(2, device=device)  # loss summed over entries, entries
    with torch.no_grad():
        for x, y in val.as_torch(device):
            total[0] += summed_loss(model.module(x[:, 1:]), y)
            total[1] += len(y)
    dist.all_reduce(total)
    validation_loss = (total[0] / total[1]).item()
    save(epoch + 1)
    print(f"rank {rank} epoch {epoch + 1}: {stats['batches']} batches, {stats['bytes_read']} bytes read, "
          f"validation loss {validation_loss:.4f}", flush=True)
    log.append({"epoch": epoch, "events": events, "batches": stats["batches"], "bytes_read": stats["bytes_read"],
                "losses": losses, "validation_loss": validation_loss})

if args.log_dir:
    Path(args.log_dir, f"rank{rank}.json").write_text(json.dumps(
        {"rank": train.rank, "world_size": train.world_size, "batches_per_epoch": len(train.as_torch()),
         "file_bytes": os.path.getsize(data), "epochs": log}))
if rank == 0:
    print(f"summary: {dist.get_world_size()} ranks, final validation loss {validation_loss:.4f}")
dist.destroy_process_group()
