"""Backbones: images B×3×H×W → feature map B×C×h×w, cut into a stem and four stages.

Every backbone is a :class:`Backbone`: five named pieces run in order (``stage_modules()``),
so a model can share the first stages and copy the rest (MVAN's branches). ``last_stride=1``
(the re-ID default) removes the final down-sampling step; ``last_stride=2`` keeps it.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from vreid_lite.models.shipped_weights import WEIGHTS_DIR, shipped_weights


class Backbone(nn.Module):
    """A stem and four stages applied in order.

    ``stages``: the five attribute names; ``stage_channels``: channels after each piece;
    ``out_channels``: channels of the final map; ``default_embed_dim``: the embedding size a
    model head uses when none is asked for (``None`` = keep ``out_channels``).
    """

    stages: tuple[str, ...]
    stage_channels: tuple[int, ...]
    out_channels: int
    default_embed_dim: int | None = None

    def stage_modules(self) -> list[nn.Module]:
        return [getattr(self, name) for name in self.stages]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images
        for stage in self.stage_modules():
            x = stage(x)
        return x


# ---------------------------------------------------------------- ImageNet weights, local only

def _tv_models():
    """``torchvision.models``, imported on first use: importing torchvision takes about two
    seconds on a laptop CPU, and the ``quick`` preset's networks never need it."""
    import torchvision.models

    return torchvision.models


_ANNOUNCED: set[str] = set()


def _announce_once(name: str, message: str) -> None:
    """Print ``message`` to stderr the first time ``name`` asks, never again in this process."""
    if name not in _ANNOUNCED:
        _ANNOUNCED.add(name)
        print(message, file=sys.stderr)


def hub_checkpoint_dir() -> Path:
    """Where torchvision keeps downloaded weights (``torch.hub.get_dir()/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def cached_weights_file(weights_enum: type) -> Path | None:
    """The first of a torchvision weights enum's files already in the hub cache, else ``None``.
    Nothing is downloaded."""
    for weights in weights_enum:
        candidate = hub_checkpoint_dir() / Path(weights.url).name
        if candidate.is_file():
            return candidate
    return None


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise FileNotFoundError(f"pretrained weights file {path} does not exist")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict (name → tensor), got {type(state).__name__}")
    return state


def _load_checked(module: nn.Module, state: dict, source, ignore_prefix: str | None = None) -> None:
    """Load ``state`` into ``module``; keys starting with ``ignore_prefix`` (the ImageNet
    classifier) are dropped, any other mismatch is an error naming the file."""
    kept = {k: v for k, v in state.items() if not (ignore_prefix and k.startswith(ignore_prefix))}
    try:
        result = module.load_state_dict(kept, strict=False)
    except RuntimeError as err:  # shape mismatches
        raise ValueError(f"{source}: weights do not fit {type(module).__name__}: {err}") from err
    if result.missing_keys or result.unexpected_keys:
        raise ValueError(
            f"{source}: weights do not fit {type(module).__name__}; "
            f"missing {result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]}")


def _resolve_weights(name: str, pretrained, weights_enum: type | None) -> Path | None:
    """The weights file to load, or ``None`` to train from scratch.

    ``pretrained``: ``"auto"`` (torchvision's file when already cached), ``True`` (the same,
    but missing weights are an error), ``False``/``None`` (none), or a path to a state dict.
    """
    if pretrained is None or pretrained is False:
        return None
    if isinstance(pretrained, (str, Path)) and str(pretrained) != "auto":
        return Path(pretrained).expanduser()
    if pretrained not in ("auto", True):
        raise ValueError(f"pretrained={pretrained!r}; expected 'auto', True, False, None or a path")
    found = cached_weights_file(weights_enum) if weights_enum is not None else None
    if found is not None:
        return found
    where = (f"found in {hub_checkpoint_dir()}" if weights_enum is not None
             else "available from torchvision (pass a state-dict path)")
    if pretrained is True:
        raise FileNotFoundError(f"no ImageNet weights for {name} {where}")
    _announce_once(name, f"no ImageNet weights for {name} {where}; training from scratch")
    return None


# ---------------------------------------------------------------- ResNet-18/34/50

class ResNetBackbone(Backbone):
    """torchvision's ResNet without its pooling and classifier; ``stem`` = conv1+bn1+relu+maxpool."""

    def __init__(self, depth: int, last_stride: int = 1):
        super().__init__()
        net = getattr(_tv_models(), f"resnet{depth}")(weights=None)
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        if last_stride == 1:
            for m in self.layer4[0].modules():
                if isinstance(m, nn.Conv2d) and m.stride == (2, 2):
                    m.stride = (1, 1)
        self.stages = ("stem", "layer1", "layer2", "layer3", "layer4")
        layers = (net.layer1, net.layer2, net.layer3, net.layer4)
        self.stage_channels = (64, *(layer[-1].conv1.in_channels for layer in layers))
        self.out_channels = net.fc.in_features

    def load_torchvision(self, state: dict, source: Path) -> None:
        """Load a state dict in torchvision's naming (``conv1.*``, ``bn1.*``) or this one's."""
        renamed = {}
        for k, v in state.items():
            if k.startswith("conv1."):
                k = "stem.0." + k[len("conv1."):]
            elif k.startswith("bn1."):
                k = "stem.1." + k[len("bn1."):]
            renamed[k] = v
        _load_checked(self, renamed, source, ignore_prefix="fc.")


def _resnet(depth: int) -> Callable[..., Backbone]:
    def build(pretrained="auto", last_stride: int = 1) -> Backbone:
        net = ResNetBackbone(depth, last_stride)
        enum = getattr(_tv_models(), f"ResNet{depth}_Weights")
        path = _resolve_weights(f"resnet{depth}", pretrained, enum)
        if path is not None:
            net.load_torchvision(_read_state_dict(path), path)
        return net
    build.__doc__ = f"ResNet-{depth} (torchvision), ImageNet weights when found locally."
    return build


# ---------------------------------------------------------------- the SCAN paper's light VGGs

def _conv_block(cin: int, cout: int, kernel: int, stride: int, padding: int,
                batch_norm: bool, padding_mode: str = "zeros") -> list[nn.Module]:
    conv = nn.Conv2d(cin, cout, kernel, stride, padding, padding_mode=padding_mode)
    return [conv, nn.BatchNorm2d(cout), nn.ReLU(inplace=True)] if batch_norm else [conv, nn.ReLU(inplace=True)]


class LightVGG(Backbone):
    """Convolutional part of VGG_CNN_M_1024 (``"m"``) or VGG16 (``"16"``), SCAN paper §4.1.

    The paper replaces all fully connected layers by one 512-d layer; that layer belongs to the
    model head (``default_embed_dim = 512``: GAP → 512-d FC), not to this backbone.

    ``batch_norm=True`` puts BatchNorm after every convolution (and drops VGG_M's LRN, which
    BatchNorm supersedes): the paper's Caffe nets had none. The paper states neither how its
    networks were initialised nor the input size (§4.1 gives Caffe, the batch of 64 and the
    solver settings; §4.2 only calls VeRi-776's resolution "small"); the kit usually trains from
    scratch, where plain VGGs train poorly. ``batch_norm=False`` is the paper's network (LRN
    after VGG_M's conv1 and conv2).

    The final max-pool (pool5) is the "last stride": kept with ``last_stride=2``, dropped with
    the default ``last_stride=1`` because small re-ID images leave too small a map (VGG_M gives
    3×3 at 64 px before pool5, 1×1 after). Pools use ``ceil_mode`` as Caffe does, so VGG_M at
    224 px gives the 6×6×512 pool5 map of Chatfield et al.

    Parameters (``batch_norm=False``), conv part + the 512-d layer on the 512-d pooled vector
    (512·512 + 512 = 262,656): VGG_M 6,528,640 + 262,656 = 6.79 M vs Table 4's 6.8 M — the
    paper's 512-d layer therefore sat on the global-average-pooled vector, as §3.3 says (a
    512-d layer on the flattened 6×6×512 pool5 map would add 9.4 M). VGG16 14,714,688 +
    262,656 = 14.98 M vs Table 4's 7.9 M: VGG16's 13 convolutions alone hold 14.7 M, so no
    VGG16 ending at conv5_3 fits 7.9 M; conv1_1…conv4_3 + the 512-d layer gives 7.90 M, so the
    paper's figure probably left the conv5 block out of the count. The kit keeps conv5_3,
    where the paper attaches SCAN. Table 4's originals agree with counts that exclude the final
    classifier: VGG_M_1024 conv + fc6 + fc7 = 86.2 M.
    """

    def __init__(self, variant: str, last_stride: int = 1, batch_norm: bool = True):
        super().__init__()
        self.variant = variant
        self.stages = ("conv1", "conv2", "conv3", "conv4", "conv5")
        self.default_embed_dim = 512
        bn = batch_norm
        if variant == "m":
            def lrn() -> list[nn.Module]:
                # Caffe VGG_CNN_M: local_size 5, alpha 5e-4, beta 0.75, k 2
                return [] if bn else [nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)]
            pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)  # noqa: E731
            self.conv1 = nn.Sequential(*_conv_block(3, 96, 7, 2, 0, bn), *lrn(), pool())
            self.conv2 = nn.Sequential(*_conv_block(96, 256, 5, 2, 1, bn), *lrn(), pool())
            self.conv3 = nn.Sequential(*_conv_block(256, 512, 3, 1, 1, bn))
            self.conv4 = nn.Sequential(*_conv_block(512, 512, 3, 1, 1, bn))
            last = _conv_block(512, 512, 3, 1, 1, bn)
            self.conv5 = nn.Sequential(*last, *([pool()] if last_stride == 2 else []))
            self.stage_channels = (96, 256, 512, 512, 512)
        elif variant == "16":
            plan = [(3, 64, 2), (64, 128, 2), (128, 256, 3), (256, 512, 3), (512, 512, 3)]
            for i, (cin, cout, n) in enumerate(plan, start=1):
                layers: list[nn.Module] = []
                for j in range(n):
                    layers += _conv_block(cin if j == 0 else cout, cout, 3, 1, 1, bn)
                if i < 5 or last_stride == 2:
                    layers.append(nn.MaxPool2d(2, 2))
                setattr(self, f"conv{i}", nn.Sequential(*layers))
            self.stage_channels = tuple(c for _, c, _ in plan)
        else:
            raise ValueError(f"unknown light VGG variant {variant!r}; expected 'm' or '16'")
        self.out_channels = 512

    def load_torchvision_vgg16(self, state: dict, source) -> None:
        """Copy torchvision ``vgg16`` / ``vgg16_bn`` ``features.*`` weights, layer by layer
        (the ``classifier.*`` weights are not used)."""
        kinds = (nn.Conv2d, nn.BatchNorm2d)
        mine = [m for m in self.modules() if isinstance(m, kinds)]
        bn = any(isinstance(m, nn.BatchNorm2d) for m in mine)
        theirs = _torchvision_vgg16_indices(bn)
        found = {int(k.split(".")[1]) for k in state if k.startswith("features.")}
        if self.variant != "16" or found != set(theirs):
            raise ValueError(f"{source}: features.* layers {sorted(found)} do not match "
                             f"light_vgg16 with batch_norm={bn} (expected {theirs})")
        for dst, index in zip(mine, theirs):
            prefix = f"features.{index}."
            part = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            _load_checked(dst, part, source)


def _torchvision_vgg16_indices(batch_norm: bool) -> list[int]:
    """Positions of the conv (and BN) layers in torchvision's ``vgg16[_bn].features``."""
    plan = [2, 2, 3, 3, 3]  # convolutions per block, each block ends with a max-pool
    indices, i = [], 0
    for n in plan:
        for _ in range(n):
            indices += [i, i + 1] if batch_norm else [i]
            i += 3 if batch_norm else 2
        i += 1
    return indices


def _light_vgg(variant: str) -> Callable[..., Backbone]:
    name = f"light_vgg_{variant}" if variant == "m" else "light_vgg16"

    def build(pretrained="auto", last_stride: int = 1, batch_norm: bool = True) -> Backbone:
        net = LightVGG(variant, last_stride, batch_norm)
        enum = None
        if variant == "16":
            models = _tv_models()
            enum = models.VGG16_BN_Weights if batch_norm else models.VGG16_Weights
        path = _resolve_weights(name, pretrained, enum)
        if path is not None:
            state = _read_state_dict(path)
            if variant == "16" and "features.0.weight" in state:
                net.load_torchvision_vgg16(state, path)
            else:
                _load_checked(net, state, path, ignore_prefix="classifier.")
        return net
    build.__doc__ = f"{name}: the SCAN paper's light network (conv part); see LightVGG."
    return build


# ---------------------------------------------------------------- a small CPU network

class QuickNet(Backbone):
    """A small CNN for the ``quick`` preset (64×64 images, CPU): ~0.6 M parameters.

    stem 3×3/2 (32) → stage1 /2 (32) → stage2 /2 (64) → stage3 (128) → stage4 /``last_stride``
    (256); every convolution is 3×3 + BN + ReLU, two per stage except stem and stage4. The
    down-sampling comes early, where maps are large and convolutions cheap: at 64 px the map
    is 8×8 from stage2 on (4×4 with ``last_stride=2``), enough positions for attention maps.
    ``width`` scales every stage (32 → the channels above).

    ``padding_mode="replicate"`` (the default) pads each convolution with its edge values. Zero
    padding makes the image border an edge that every layer answers: at 64 px a third of the
    8×8 map touches the border, and a trained network put most of its feature energy there, on
    the background (0.45× the vehicle's area share against 1.17× with replicate padding, same
    data and seed; ``benchmarks/shortcut_levers.py``). See Alsallakh et al., "Mind the Pad",
    ICLR 2021.
    """

    def __init__(self, last_stride: int = 1, width: int = 32, padding_mode: str = "replicate"):
        super().__init__()
        if padding_mode not in ("zeros", "replicate", "reflect"):
            raise ValueError(f"padding_mode={padding_mode!r}; expected 'zeros', 'replicate' or "
                             "'reflect'")
        w = (width, width, 2 * width, 4 * width, 8 * width)
        self.padding_mode = padding_mode

        def stage(cin: int, cout: int, stride: int, depth: int) -> nn.Sequential:
            layers = _conv_block(cin, cout, 3, stride, 1, True, padding_mode)
            for _ in range(depth - 1):
                layers += _conv_block(cout, cout, 3, 1, 1, True, padding_mode)
            return nn.Sequential(*layers)

        self.stem = stage(3, w[0], 2, 1)
        self.stage1 = stage(w[0], w[1], 2, 2)
        self.stage2 = stage(w[1], w[2], 2, 2)
        self.stage3 = stage(w[2], w[3], 1, 2)
        self.stage4 = stage(w[3], w[4], last_stride, 1)
        self.stages = ("stem", "stage1", "stage2", "stage3", "stage4")
        self.stage_channels = w
        self.out_channels = w[4]


def _quick_net(pretrained="auto", last_stride: int = 1, width: int = 32,
               padding_mode: str = "replicate") -> Backbone:
    """quick_net: the ``quick`` preset's small CPU network. No ImageNet weights exist for it;
    its pretrained weights come from synthetic pretraining (``vreid_lite.pretraining``,
    shipped as ``models/shipped_weights``):
    ``"auto"`` loads the shipped ones (checksum checked) when the width matches, ``True``
    requires them, ``False``/``None`` trains from scratch, a path loads that state dict."""
    net = QuickNet(last_stride, width, padding_mode)
    if pretrained is None or pretrained is False:
        return net
    if isinstance(pretrained, (str, Path)) and str(pretrained) != "auto":
        path = Path(pretrained).expanduser()
    elif pretrained in ("auto", True):
        shipped = width == 32 and padding_mode == "replicate"
        path = shipped_weights() if shipped else None
        if path is None:
            why = (f"none in {WEIGHTS_DIR} (run `vreid pretrain`)" if shipped else
                   f"the shipped ones have width 32 and replicate padding, not {width} and "
                   f"{padding_mode}")
            if pretrained is True:
                raise FileNotFoundError(f"no synthetic-pretrained quick_net weights: {why}")
            _announce_once(f"quick_net/{width}/{padding_mode}", f"no synthetic-pretrained quick_net weights: "
                           f"{why}; training from scratch")
            return net
    else:
        raise ValueError(f"pretrained={pretrained!r}; expected 'auto', True, False, None or a path")
    _load_checked(net, _read_state_dict(path), path, ignore_prefix="classifier.")
    return net


_BACKBONES: dict[str, Callable[..., Backbone]] = {
    "resnet18": _resnet(18),
    "resnet34": _resnet(34),
    "resnet50": _resnet(50),
    "light_vgg_m": _light_vgg("m"),
    "light_vgg16": _light_vgg("16"),
    "quick_net": _quick_net,
}


def list_backbones() -> list[str]:
    return list(_BACKBONES)


def build_backbone(name: str, pretrained="auto", last_stride: int = 1, **opts) -> Backbone:
    """Build backbone ``name`` (see ``list_backbones()``).

    ``pretrained``: ``"auto"`` loads ImageNet weights only when already in the torch hub cache
    (never downloads; says once per process when there are none), ``True`` requires them,
    ``False``/``None`` skips them, a path loads that state dict (``weights_only=True``).
    ``opts``: ``batch_norm`` for the light VGGs, ``width`` and ``padding_mode`` for ``quick_net``.
    """
    if name not in _BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; expected one of {list_backbones()}")
    if last_stride not in (1, 2):
        raise ValueError(f"last_stride={last_stride!r}; expected 1 or 2")
    try:
        return _BACKBONES[name](pretrained=pretrained, last_stride=last_stride, **opts)
    except TypeError as err:
        if "unexpected keyword" in str(err):
            raise TypeError(f"backbone {name!r} does not take option(s) {sorted(opts)}: {err}") from err
        raise
