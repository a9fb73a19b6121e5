"""Plain-value configs and the three presets: ``quick`` (CPU, minutes), ``standard`` (GPU,
VeRi-sized synthetic set, ResNet-50) and ``full`` (VeRi-776 at 256×256 for 120 epochs), plus
``smoke``, the standard preset shrunk to run its networks and code paths on a CPU (no results).

All of them share one training recipe (Adam, warm-up then cosine, label smoothing 0.1, triplet
margin 0.3): none is any paper's own. Each paper notebook sets the loss terms its paper
states; the README's "Training recipes" table lists, per paper, where the kit differs."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class DataConfig:
    recipe: str = "synth_quick"        # synthetic recipe rendered when no data_root is given
    kind: str = "veri776"              # reader for data_root (veri776, vehicleid, veriwild, cityflow)
    image_size: tuple[int, int] = (64, 64)  # (height, width) fed to the network
    p: int = 8                         # identities per batch (P×K sampler)
    k: int = 4                         # images per identity per batch
    workers: int = 0                   # DataLoader workers when images stream from disk
    cache: str = "auto"                # uint8 in-memory cache: "auto" | "on" | "off"
    bg_swap: float = 0.0               # probability of a mask-guided background swap per image


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    lr: float = 3.5e-4
    weight_decay: float = 5e-4
    warmup_epochs: int = 1
    optimizer: str = "adam"
    label_smoothing: float = 0.1
    triplet_margin: float | None = 0.3   # None = soft margin
    eval_every: int = 0                  # epochs between evaluations (0 = only at the end)
    amp: bool = True                     # bf16 autocast on CUDA
    compile: bool = False

    def fit_options(self) -> dict[str, Any]:
        """The keyword arguments of ``engine.fit`` this config sets (the loss settings go to
        the criterion instead)."""
        return {"epochs": self.epochs, "optimizer": self.optimizer, "lr": self.lr,
                "weight_decay": self.weight_decay, "warmup_epochs": self.warmup_epochs,
                "eval_every": self.eval_every, "amp": self.amp, "compile": self.compile}


@dataclass(frozen=True)
class Preset:
    name: str
    backbone: str
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PRESETS: dict[str, Preset] = {
    "quick": Preset(
        name="quick",
        backbone="quick_net",
        data=DataConfig(recipe="synth_quick", image_size=(64, 64), p=8, k=4),
        # the backbone starts from the shipped synthetic-pretrained weights (vreid_lite.pretraining),
        # so a gentler fine-tune: 9 epochs at 3.5e-4 beat 12 at 1e-3 in 3/4 of the time (seeds
        # 0-2, benchmarks/shortcut_levers.py)
        train=TrainConfig(epochs=9, lr=3.5e-4, warmup_epochs=1),
    ),
    "standard": Preset(
        name="standard",
        backbone="resnet50",
        data=DataConfig(recipe="synth_standard", image_size=(256, 256), p=16, k=4, workers=8),
        train=TrainConfig(epochs=40, lr=3.5e-4, warmup_epochs=5, eval_every=10, compile=True),
    ),
    "full": Preset(
        name="full",
        backbone="resnet50",
        data=DataConfig(recipe="synth_standard", kind="veri776", image_size=(256, 256),
                        p=16, k=4, workers=8),
        train=TrainConfig(epochs=120, lr=3.5e-4, warmup_epochs=10, eval_every=20),
    ),
}

# The standard preset's backbone, image size, optimiser and schedule on a CPU: one P×K batch of
# 4×2 per epoch (synth_smoke has 4 training identities of 2 images), so every notebook's
# training stages and evaluations run in minutes (`make smoke-standard`). Batches stream through
# DataLoader workers as the standard set's (too large for the cache) do. No compile: inductor
# on a CPU builds C++ kernels, not the GPU's, and takes minutes per network on two cores.
PRESETS["smoke"] = replace(
    PRESETS["standard"], name="smoke",
    data=replace(PRESETS["standard"].data, recipe="synth_smoke", p=4, k=2, workers=2,
                 cache="off"),
    train=replace(PRESETS["standard"].train, epochs=1, warmup_epochs=1, eval_every=0,
                  compile=False))


def get_preset(name: str, **overrides: Any) -> Preset:
    """The named preset; ``overrides`` replace top-level fields (``epochs=…`` reaches train)."""
    if name == "paper":
        raise ValueError("the 'paper' preset is now called 'full': it trains VeRi-776 for 120 "
                         "epochs with the kit's one recipe, not any paper's own (README, "
                         "\"Training recipes\")")
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; expected one of {sorted(PRESETS)}")
    preset = PRESETS[name]
    train_keys = set(TrainConfig.__dataclass_fields__)
    data_keys = set(DataConfig.__dataclass_fields__)
    t = {k: v for k, v in overrides.items() if k in train_keys and v is not None}
    d = {k: v for k, v in overrides.items() if k in data_keys and v is not None}
    top = {k: v for k, v in overrides.items()
           if k not in train_keys | data_keys and v is not None}
    unknown = set(top) - set(Preset.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown preset field(s) {sorted(unknown)}")
    return replace(preset, train=replace(preset.train, **t), data=replace(preset.data, **d), **top)


def check_preset(preset: Any, caller: str) -> Preset:
    """``preset`` when it is a ``Preset``; a name is resolved once, where a notebook or pipeline
    starts (``get_preset``), so anywhere below that it is a mistake."""
    if not isinstance(preset, Preset):
        raise TypeError(f"{caller}: expected a Preset (get_preset({preset!r}) resolves a name), "
                        f"got {type(preset).__name__}")
    return preset


def with_epochs(preset: Preset, epochs: int | None) -> Preset:
    """``preset`` with ``epochs`` replacing its own when not None."""
    check_preset(preset, "with_epochs")
    return preset if epochs is None else replace(preset, train=replace(preset.train, epochs=epochs))
