"""Launched by test_ddp.py as ``torchrun --nproc_per_node 2 ddp_worker.py DATA OUT``: each rank
trains the toy task through ``make_loaders`` and ``fit_preset`` (as ``train_model`` does) and
saves what it saw to ``OUT/rank<r>.pt``."""
import importlib
import sys
from pathlib import Path

import torch

import ddp_toy
import vreid_lite.experiment as experiment
from vreid_lite.engine import distributed

fit_module = importlib.import_module("vreid_lite.engine.fit")  # vreid_lite.engine.fit: the function


def spy(module, name: str, calls: list):
    real = getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append(distributed.rank())
        return real(*args, **kwargs)

    setattr(module, name, wrapper)


def main(data_root: Path, out: Path) -> None:
    data = ddp_toy.read_dataset(data_root)
    evaluations, checkpoints = [], []
    spy(experiment, "evaluate", evaluations)
    spy(fit_module, "save_checkpoint", checkpoints)
    loader, num_classes = experiment.make_loaders(data, ddp_toy.PRESET, device="cpu",
                                                  progress=False)
    loader.augment = ddp_toy.fixed_augment()
    torch.manual_seed(0)
    model = ddp_toy.ToyNet(num_classes)
    criterion = ddp_toy.RecordingCriterion(model)
    history, metrics = experiment.fit_preset(model, criterion, loader, data, ddp_toy.PRESET,
                                             device="cpu", checkpoint_dir=out / "checkpoint",
                                             progress=False)
    torch.save({"rank": distributed.rank(), "world_size": distributed.world_size(),
                "indices": criterion.indices,
                "weights": criterion.weights[1:] + [ddp_toy.flat_weights(model)],
                "history": history.to_dict(), "evaluations": evaluations,
                "checkpoints": checkpoints},
               out / f"rank{distributed.rank()}.pt")
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
