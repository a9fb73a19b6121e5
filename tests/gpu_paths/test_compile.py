"""``fit(compile=True)`` on a CPU: inductor's losses match eager ones; a model that cannot be
compiled trains eagerly after a warning."""
import warnings

import pytest
import torch
import torch._inductor.config as inductor_config

from vreid_lite.engine import fit

from .ddp_toy import IDS, SIZE, ToyNet, flat_weights

pytestmark = pytest.mark.gpu_paths


def batches(n=3, size=8):
    g = torch.Generator().manual_seed(0)
    pids = torch.arange(size) % IDS
    return [{"images": torch.randn(size, 3, SIZE, SIZE, generator=g), "pids": pids}
            for _ in range(n)]


def criterion(output, batch):
    ce = torch.nn.functional.cross_entropy(output.logits, batch["pids"])
    return {"ce": ce, "total": ce}


class StepLosses:
    def __init__(self):
        self.losses = []

    def __call__(self, output, batch):
        terms = criterion(output, batch)
        self.losses.append(terms["total"].item())
        return terms


def train(compile):
    torch.manual_seed(0)
    model, losses = ToyNet(), StepLosses()
    fit(model, losses, batches(), epochs=1, lr=1e-2, device="cpu", progress=False,
        compile=compile)
    return model, losses.losses


def test_compiled_training_matches_eager():
    eager_model, eager = train(compile=False)
    # one compile thread: a worker pool costs more than it saves for a few kernels on 2 cores
    with inductor_config.patch({"compile_threads": 1}), warnings.catch_warnings():
        warnings.filterwarnings("error", "torch.compile could not compile")  # no quiet fallback
        compiled_model, compiled = train(compile=True)
    # measured: losses equal to eager's, weights within 3e-8 after 3 Adam steps (inductor
    # fuses and reorders float sums); 1e-5 leaves room across CPUs
    assert compiled == pytest.approx(eager, abs=1e-5)
    assert torch.allclose(flat_weights(compiled_model), flat_weights(eager_model), atol=1e-5)


def test_a_failed_compile_warns_and_trains_eagerly(tmp_path, monkeypatch):
    # a machine without a working C++ compiler: inductor cannot build its CPU kernels
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    eager_model, eager = train(compile=False)
    torch._dynamo.reset()  # forget ToyNet's code compiled by the test above
    with inductor_config.patch({"cpp.cxx": (str(tmp_path / "no-such-c++"),),
                                "fx_graph_cache": False}):
        with pytest.warns(RuntimeWarning, match="could not compile ToyNet"):
            model, losses = train(compile=True)
    assert losses == eager
    assert torch.equal(flat_weights(model), flat_weights(eager_model))
