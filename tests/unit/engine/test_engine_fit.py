"""fit() on a tiny in-memory task: records, evaluation cadence, non-finite losses, resume."""
import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vreid_lite.engine import History, fit, seed_everything, train_one_epoch
from vreid_lite.engine.optim import make_optimizer
from vreid_lite.engine.schedule import build_scheduler
from vreid_lite.engine.checkpoint import CHECKPOINT_NAME, load_checkpoint
from vreid_lite.models.output import ReIDOutput

NUM_IDS = 4


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2))
        self.head = nn.Linear(8, NUM_IDS)

    def forward(self, images):
        feat = self.body(images)
        return ReIDOutput(embedding=feat, logits=self.head(feat) if self.training else None,
                          aux={"feat": feat})


class TinyCriterion:
    """CE plus a small norm penalty; ``reg`` is NaN on call number ``nan_at_call`` (0-based)."""

    def __init__(self, nan_at_call=None):
        self.nan_at_call, self.calls = nan_at_call, 0

    def __call__(self, output, batch):
        ce = F.cross_entropy(output.logits, batch["pids"])
        reg = 1e-3 * output.aux["feat"].pow(2).mean()
        if self.calls == self.nan_at_call:
            reg = reg * float("nan")
        self.calls += 1
        return {"ce": ce, "reg": reg, "total": ce + reg}


class TinyLoader:
    """Per-id colour images; order and noise depend on (seed, epoch) and on the global RNG."""

    def __init__(self, batches=4, batch_size=8, seed=0):
        g = torch.Generator().manual_seed(123)
        self.pids = torch.arange(batches * batch_size) % NUM_IDS
        colours = torch.rand(NUM_IDS, 3, 1, 1, generator=g)
        self.images = colours[self.pids] + 0.1 * torch.randn(len(self.pids), 3, 6, 6, generator=g)
        self.batch_size, self.seed, self.epoch, self.epochs_seen = batch_size, seed, 0, []

    def set_epoch(self, epoch):
        self.epoch = epoch
        self.epochs_seen.append(epoch)

    def __len__(self):
        return len(self.pids) // self.batch_size

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 1000 + self.epoch)
        order = torch.randperm(len(self.pids), generator=g)
        for i in range(len(self)):
            idx = order[i * self.batch_size:(i + 1) * self.batch_size]
            noise = 0.05 * torch.randn(len(idx), 3, 6, 6)  # global RNG, as an augmentation might
            yield {"images": self.images[idx] + noise, "pids": self.pids[idx]}


def run(epochs=3, criterion=None, loader=None, **options):
    torch.manual_seed(0)
    model = TinyNet()
    options = {"lr": 1e-2, "device": "cpu", "progress": False, **options}
    history = fit(model, criterion or TinyCriterion(), loader or TinyLoader(), epochs=epochs,
                  **options)
    return model, history


def test_history_holds_every_loss_term_and_rates_per_epoch():
    loader = TinyLoader()
    _, history = run(epochs=4, loader=loader, warmup_epochs=1)
    assert len(history) == 4 and [e["epoch"] for e in history.epochs] == [1, 2, 3, 4]
    for name in ("ce", "reg", "total", "lr", "epoch_time_s", "images_per_s"):
        assert all(isinstance(v, float) for v in history.series(name)), name
    assert history.series("ce")[-1] < history.series("ce")[0]
    assert loader.epochs_seen == [0, 1, 2, 3]
    # the last warm-up iteration runs at the full learning rate, cosine decay follows
    assert history.series("lr")[0] == pytest.approx(1e-2)
    assert history.series("lr")[-1] < history.series("lr")[1] < 1e-2
    json.dumps(history.to_dict())


def test_evaluate_fn_runs_every_n_epochs_and_after_the_last():
    calls = []

    def evaluate_fn(model, epoch):
        assert not isinstance(model, torch.nn.parallel.DistributedDataParallel)
        calls.append(epoch)
        return {"mAP": 0.1 * epoch, "cmc": torch.tensor([0.5, 1.0])}

    _, history = run(epochs=5, evaluate_fn=evaluate_fn, eval_every=2)
    assert calls == [2, 4, 5]
    assert history.series("mAP") == [None, pytest.approx(0.2), None, pytest.approx(0.4),
                                     pytest.approx(0.5)]
    assert history.last("cmc") == [0.5, 1.0]


def test_non_finite_loss_names_term_epoch_and_step():
    with pytest.raises(FloatingPointError, match=r"'reg'.*epoch 2, step 3 of 4"):
        run(epochs=3, criterion=TinyCriterion(nan_at_call=4 + 2))  # 4 steps per epoch


def test_param_groups_train_only_the_given_parameters():
    torch.manual_seed(0)
    model = TinyNet()
    body_before = {k: v.clone() for k, v in model.body.state_dict().items()
                   if v.is_floating_point()}
    fit(model, TinyCriterion(), TinyLoader(), epochs=1, device="cpu", progress=False,
        param_groups=[{"params": model.head.parameters(), "lr": 1e-2}], optimizer="sgd")
    # BatchNorm running statistics still update; the weights of the body must not
    for name, before in body_before.items():
        if "running" not in name:
            assert torch.equal(model.body.state_dict()[name], before), name


def test_unknown_optimizer_and_schedule_are_rejected():
    with pytest.raises(ValueError, match="optimizer"):
        run(epochs=1, optimizer="adagrad")
    with pytest.raises(ValueError, match="schedule"):
        run(epochs=1, schedule="linear")


def test_checkpoint_each_epoch_loads_with_weights_only(tmp_path):
    run(epochs=2, checkpoint_dir=tmp_path)
    state = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
    assert state["epoch"] == 2 and len(state["history"]["epochs"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [CHECKPOINT_NAME]


def test_resume_reproduces_the_uninterrupted_run(tmp_path):
    full_model, full_history = run(epochs=3, checkpoint_dir=tmp_path / "full")

    def interrupt(record):
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(epochs=3, checkpoint_dir=tmp_path / "cut", log_fn=interrupt)
    assert load_checkpoint(tmp_path / "cut" / CHECKPOINT_NAME)["epoch"] == 1

    torch.manual_seed(99)  # a fresh process would start from other random states
    resumed_model, resumed_history = run(epochs=3, checkpoint_dir=tmp_path / "cut", resume=True,
                                         seed=5)
    for (name, a), b in zip(full_model.state_dict().items(), resumed_model.state_dict().values()):
        assert torch.equal(a, b), name
    for a, b in zip(full_history.epochs, resumed_history.epochs):
        assert {k: v for k, v in a.items() if k not in ("epoch_time_s", "images_per_s")} == \
               {k: v for k, v in b.items() if k not in ("epoch_time_s", "images_per_s")}


def test_resume_needs_a_checkpoint_dir():
    with pytest.raises(ValueError, match="checkpoint_dir"):
        run(epochs=1, resume=True)


def test_history_round_trip_and_lookup():
    h = History([{"epoch": 1, "total": 2.0}, {"epoch": 2, "total": float("nan"), "mAP": 0.3}])
    data = json.loads(json.dumps(h.to_dict()))
    assert data["epochs"][1]["total"] is None
    back = History.from_dict(data)
    assert back.series("total") == [2.0, None]
    assert back.series("mAP") == [None, 0.3]
    assert back.last("mAP") == 0.3 and back.last("total") is None
    with pytest.raises(KeyError, match="rank1"):
        back.last("rank1")
    with pytest.raises(ValueError):
        History.from_dict({"records": []})


def test_resume_without_a_checkpoint_starts_from_scratch(tmp_path):
    _, history = run(epochs=1, checkpoint_dir=tmp_path, resume=True)
    assert len(history) == 1 and (tmp_path / CHECKPOINT_NAME).is_file()


def test_resuming_with_another_epoch_count_warns(tmp_path):
    run(epochs=1, checkpoint_dir=tmp_path)
    with pytest.warns(UserWarning, match="run of 1 epochs; continuing to 2"):
        _, history = run(epochs=2, checkpoint_dir=tmp_path, resume=True)
    assert [e["epoch"] for e in history.epochs] == [1, 2]


def test_a_run_resumed_after_its_last_epoch_is_still_scored(tmp_path):
    def score(model, epoch):
        calls.append(epoch)
        return {"mAP": 0.5}

    calls = []
    run(epochs=2, checkpoint_dir=tmp_path, evaluate_fn=score)
    assert calls == [2]
    _, history = run(epochs=2, checkpoint_dir=tmp_path, evaluate_fn=score, resume=True)
    assert calls == [2, 2] and [e["epoch"] for e in history.epochs] == [1, 2]


def test_one_epoch_by_hand_matches_fit_for_one_epoch():
    """``train_one_epoch`` is the whole of fit's step: the same seed gives the same weights."""
    fitted, history = run(epochs=1, warmup_epochs=0, schedule="none", seed=0)
    torch.manual_seed(0)
    model, loader = TinyNet(), TinyLoader()
    optimizer = make_optimizer("adam", model, None, None, 1e-2, 5e-4)
    scheduler = build_scheduler(optimizer, total_steps=len(loader), warmup_steps=0,
                                schedule="none")
    seed_everything(0)  # fit seeds every generator with its seed before training
    meter, images, last_lr = train_one_epoch(model, TinyCriterion(), loader, optimizer,
                                             scheduler, device=torch.device("cpu"))
    assert images == len(loader.pids) and last_lr == pytest.approx(1e-2)
    assert meter.means()["ce"] == pytest.approx(history.series("ce")[0])
    for mine, theirs in zip(model.state_dict().values(), fitted.state_dict().values()):
        assert torch.equal(mine, theirs)


def test_amp_and_channels_last_reject_unknown_values():
    with pytest.raises(ValueError, match=r"amp='yes'.*'always'"):
        run(epochs=1, amp="yes")
    with pytest.raises(ValueError, match=r"channels_last=2"):
        run(epochs=1, channels_last=2)
