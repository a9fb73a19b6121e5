"""Learning-rate schedule: linear warm-up, cosine and step decay, per-iteration stepping."""
import math

import pytest
import torch

from vreid_lite.engine.schedule import build_scheduler, lr_factor


def test_warmup_ramps_linearly_to_one():
    factors = [lr_factor(s, total_steps=100, warmup_steps=10) for s in range(10)]
    assert factors == pytest.approx([(s + 1) / 10 for s in range(10)])
    assert lr_factor(10, total_steps=100, warmup_steps=10) == pytest.approx(1.0)


def test_cosine_falls_from_one_to_min_factor():
    f = [lr_factor(s, total_steps=110, warmup_steps=10, min_factor=0.01) for s in range(10, 111)]
    assert f[0] == pytest.approx(1.0)
    assert f[50] == pytest.approx(0.01 + 0.99 * 0.5)  # half-way
    assert f[-1] == pytest.approx(0.01)
    assert all(a > b for a, b in zip(f, f[1:]))
    assert lr_factor(500, total_steps=110, warmup_steps=10) == pytest.approx(0.0)


def test_step_schedule_multiplies_by_gamma_at_milestones():
    f = [lr_factor(s, total_steps=100, schedule="step", milestones=(0.5, 0.75), gamma=0.1)
         for s in range(100)]
    assert f[49] == 1.0 and f[50] == pytest.approx(0.1) and f[74] == pytest.approx(0.1)
    assert f[75] == pytest.approx(0.01) and f[99] == pytest.approx(0.01)


def test_none_schedule_is_constant_after_warmup():
    assert [lr_factor(s, total_steps=20, warmup_steps=2, schedule="none") for s in (0, 1, 2, 19)] \
        == [0.5, 1.0, 1.0, 1.0]


def test_scheduler_sets_optimizer_lr_each_iteration():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.2)
    sched = build_scheduler(opt, total_steps=20, warmup_steps=4)
    seen = []
    for _ in range(20):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    expected = [0.2 * lr_factor(s, total_steps=20, warmup_steps=4) for s in range(20)]
    assert seen == pytest.approx(expected)
    assert seen[3] == pytest.approx(0.2) and seen[4] == pytest.approx(0.2)
    assert seen[-1] == pytest.approx(0.2 * 0.5 * (1 + math.cos(math.pi * 15 / 16)))


def test_unknown_schedule_is_rejected():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="'exp'"):
        build_scheduler(opt, total_steps=10, schedule="exp")
