"""Two processes under torchrun (gloo, CPU) train through ``fit``: sharded P×K batches, weights
in step, rank 0 alone evaluates and writes, and the result of one process on the same global
batch."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vreid_lite.data.loaders import TrainLoader
from vreid_lite.data.dataset import ReIDImageDataset
from vreid_lite.engine.checkpoint import CHECKPOINT_NAME, load_checkpoint
from vreid_lite.experiment import fit_preset

from . import ddp_toy

pytestmark = pytest.mark.gpu_paths

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


def _torchrun() -> list[str]:
    launcher = Path(sys.executable).with_name("torchrun")
    return [str(launcher)] if launcher.exists() else [sys.executable, "-m", "torch.distributed.run"]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """Both ranks' records of one 2-process run, and the data they trained on."""
    tmp = tmp_path_factory.mktemp("ddp")
    data = ddp_toy.write_dataset(tmp / "data")
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([*_torchrun(), "--standalone", "--nproc_per_node", "2",
                           str(HERE / "ddp_worker.py"), str(tmp / "data"), str(tmp)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    records = [torch.load(tmp / f"rank{r}.pt", weights_only=True) for r in range(2)]
    return records, data, tmp


def test_each_rank_gets_its_own_pk_batches(ranks):
    (r0, r1), _, _ = ranks
    assert (r0["rank"], r1["rank"], r0["world_size"]) == (0, 1, 2)
    steps = len(r0["indices"])
    assert steps == len(r1["indices"]) == 4  # 2 epochs × 2 of the epoch's 4 batches
    for a, b in zip(r0["indices"], r1["indices"]):
        assert len(a) == len(b) == 8
    # each id's 4 images make 2 chunks of K=2, so an epoch's 4 batches hold every image once:
    # the ranks' batches of an epoch are disjoint and cover the training split
    for epoch in range(2):
        seen = [i for r in (r0, r1) for batch in r["indices"][2 * epoch:2 * epoch + 2]
                for i in batch]
        assert sorted(seen) == list(range(ddp_toy.IDS * ddp_toy.PER_ID))


def test_weights_agree_across_ranks_after_every_step(ranks):
    (r0, r1), _, _ = ranks
    assert len(r0["weights"]) == len(r1["weights"]) == 4
    for step, (w0, w1) in enumerate(zip(r0["weights"], r1["weights"])):
        assert torch.equal(w0, w1), f"the ranks' weights differ after step {step + 1}"
    assert not torch.equal(r0["weights"][0], r0["weights"][-1])


def test_rank0_alone_evaluates_and_writes_checkpoints(ranks):
    (r0, r1), _, tmp = ranks
    assert r0["evaluations"] == [0, 0] and r1["evaluations"] == []  # eval_every=1, 2 epochs
    assert r0["checkpoints"] == [0, 0] and r1["checkpoints"] == []
    assert sorted(p.name for p in (tmp / "checkpoint").iterdir()) == [CHECKPOINT_NAME]
    state = load_checkpoint(tmp / "checkpoint" / CHECKPOINT_NAME)
    assert state["epoch"] == 2
    saved = torch.cat([v.flatten() for v in state["model"].values()])
    assert torch.equal(saved, r0["weights"][-1])
    # rank 1 reports rank 0's scores and the loss averaged over both ranks, as rank 0 does;
    # only the timings are each rank's own
    def shared(record):
        return {k: v for k, v in record.items() if k not in ("epoch_time_s", "images_per_s")}

    assert [shared(e) for e in r0["history"]["epochs"]] == \
        [shared(e) for e in r1["history"]["epochs"]]
    assert all(e["mAP"] is not None for e in r0["history"]["epochs"])


class PairedLoader:
    """One process's batches as two ranks see them together: one-rank batches 2i and 2i+1
    concatenated (rank 0 trains on batch 2i of the epoch while rank 1 trains on 2i+1)."""

    def __init__(self, loader: TrainLoader):
        self.loader = loader

    def set_epoch(self, epoch: int) -> None:
        self.loader.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.loader) // 2

    def __iter__(self):
        batches = iter(self.loader)
        for first, second in zip(batches, batches):
            yield {k: torch.cat([first[k], second[k]]) for k in first}


def test_two_processes_match_one_with_the_same_global_batch(ranks):
    (r0, r1), data, _ = ranks
    images = ReIDImageDataset(data.train, image_size=ddp_toy.PRESET.data.image_size,
                              cache="on", progress=False)
    loader = TrainLoader(images, ddp_toy.PRESET.data.p, ddp_toy.PRESET.data.k,
                         augment=ddp_toy.fixed_augment())
    torch.manual_seed(0)
    model = ddp_toy.ToyNet(images.num_classes)
    criterion = ddp_toy.RecordingCriterion(model)
    history, _ = fit_preset(model, criterion, PairedLoader(loader), data, ddp_toy.PRESET,
                            device="cpu", progress=False)

    assert criterion.indices == [a + b for a, b in zip(r0["indices"], r1["indices"])]
    weights = criterion.weights[1:] + [ddp_toy.flat_weights(model)]
    # measured: weights differ by at most 1.5e-8 over the 4 SGD steps (the two-rank gradient
    # average rounds differently), epoch losses by 1.5e-7, mAP not at all; 1e-6 leaves room
    for step, (one, two) in enumerate(zip(weights, r0["weights"])):
        assert torch.allclose(one, two, rtol=0, atol=1e-6), \
            f"step {step + 1}: max difference {(one - two).abs().max():.3g}"
    for one, two in zip(history.epochs, r0["history"]["epochs"]):
        assert one["ce"] == pytest.approx(two["ce"], abs=1e-6)
        assert one["mAP"] == pytest.approx(two["mAP"], abs=1e-6)
