"""Model definitions, built by name from a `ModelConfig` dataclass.

- `baseline`: plain VGG-style CNN (conv/BN/ReLU, max pooling, FC layers), the paper's CNN.
- `covpool`: the same conv body, but the last max pooling is replaced by covariance pooling.
- `resnet`: narrow residual network with global average pooling (fast on CPU).
- `rescov`: the narrow residual network with a covariance-pooling head (the shipped model).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .covpool import CovPool
from .options import option

MODEL_NAMES = ("baseline", "covpool", "resnet", "rescov")


@dataclass
class ModelConfig:
    """The architecture, saved in every checkpoint. `option()` fields are also options of
    `python -m fer_model train`, where an option not given keeps `default_config(name)`'s value."""

    name: str = option("rescov", "architecture", flag="--model", choices=MODEL_NAMES)
    stem: int = option(16, "channels of the full-resolution stem conv (residual nets)")
    widths: tuple[int, ...] = option(
        (32, 64, 128), "conv widths, one stage each (halving the resolution), e.g. 32,64,128"
    )
    blocks: tuple[int, ...] = option((1, 1, 1), "residual blocks per stage, e.g. 1,1,1")
    fc_layers: int = option(1, "1 = linear classifier; more adds hidden FC+ReLU layers")
    fc_hidden: int = 256
    cov_channels: int = option(32, "1x1 reduction before covariance pooling")
    ns_iters: int = 5
    dropout: float = option(0.3, "dropout before each fully connected layer")
    num_classes: int = 7
    input_size: int = 44  # square crop taken from the 48x48 face

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in known}
        return cls(**kw)


class ConvBN(nn.Sequential):
    """Conv + BN (+ ReLU); `fuse()` folds the BN into the conv for inference."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, act: bool = True) -> None:
        conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
        layers: list[nn.Module] = [conv, nn.BatchNorm2d(cout)]
        if act:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)

    def fuse(self) -> None:
        if isinstance(self[1], nn.BatchNorm2d):
            self[0] = fuse_conv_bn_eval(self[0], self[1])
            self[1] = nn.Identity()


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = ConvBN(cin, cout, 3, stride)
        self.conv2 = ConvBN(cout, cout, 3, 1, act=False)
        same = stride == 1 and cin == cout
        self.shortcut = nn.Identity() if same else ConvBN(cin, cout, 1, stride, act=False)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv2(self.conv1(x)) + self.shortcut(x))


def fc_head(in_features: int, cfg: ModelConfig) -> nn.Sequential:
    """`fc_layers` fully connected layers, dropout before each."""
    layers: list[nn.Module] = []
    width = in_features
    for _ in range(cfg.fc_layers - 1):
        layers += [nn.Dropout(cfg.dropout), nn.Linear(width, cfg.fc_hidden), nn.ReLU(inplace=True)]
        width = cfg.fc_hidden
    layers += [nn.Dropout(cfg.dropout), nn.Linear(width, cfg.num_classes)]
    return nn.Sequential(*layers)


class CovHead(nn.Module):
    """1x1 reduction -> covariance pooling -> BN over the vector -> FC layers."""

    def __init__(self, cin: int, cfg: ModelConfig) -> None:
        super().__init__()
        self.reduce = ConvBN(cin, cfg.cov_channels, 1)
        self.pool = CovPool(cfg.cov_channels, cfg.ns_iters)
        # The square-rooted entries vary in scale; BN gives the FC layers a sane input.
        self.norm = nn.BatchNorm1d(self.pool.out_features)
        self.fc = fc_head(self.pool.out_features, cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.norm(self.pool(self.reduce(x))))


class GapHead(nn.Module):
    def __init__(self, cin: int, cfg: ModelConfig) -> None:
        super().__init__()
        self.fc = fc_head(cin, cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.mean((2, 3)))


class PlainCNN(nn.Module):
    """Paper-style CNN: per stage two 3x3 conv+ReLU then 2x2 max pooling.

    With `covariance=True` the last stage keeps its resolution and feeds covariance pooling.
    """

    def __init__(self, cfg: ModelConfig, covariance: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin, size = 1, cfg.input_size
        for i, w in enumerate(cfg.widths):
            layers += [ConvBN(cin, w), ConvBN(w, w)]
            if not (covariance and i == len(cfg.widths) - 1):
                layers.append(nn.MaxPool2d(2))
                size //= 2
            cin = w
        self.features = nn.Sequential(*layers)
        if covariance:
            self.head: nn.Module = CovHead(cin, cfg)
        else:
            self.head = nn.Sequential(nn.Flatten(), fc_head(cin * size * size, cfg))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class ResNet(nn.Module):
    """Full-resolution stem, then one stride-2 stage per width (few channels: CPU budget)."""

    def __init__(self, cfg: ModelConfig, covariance: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBN(1, cfg.stem)]
        cin = cfg.stem
        for w, n in zip(cfg.widths, cfg.blocks, strict=True):
            for j in range(n):
                layers.append(BasicBlock(cin, w, 2 if j == 0 else 1))
                cin = w
        self.features = nn.Sequential(*layers)
        self.head = CovHead(cin, cfg) if covariance else GapHead(cin, cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build_model(cfg: ModelConfig) -> nn.Module:
    if cfg.name not in MODEL_NAMES:
        raise ValueError(f"unknown model {cfg.name!r}; choose from {MODEL_NAMES}")
    if cfg.name in ("baseline", "covpool"):
        model: nn.Module = PlainCNN(cfg, covariance=cfg.name == "covpool")
    else:
        model = ResNet(cfg, covariance=cfg.name == "rescov")
    _init_weights(model)
    return model


def _init_weights(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    # No zero-init of the residual branches' last BN: with only 3 blocks the network then
    # starts as a few strided 1x1 convs and sat at the class prior for epochs (measured).


def _block_positions(cfg: ModelConfig) -> dict[tuple[int, int], int]:
    """(stage, block in stage) -> index in `ResNet.features` (index 0 is the stem)."""
    positions, i = {}, 1
    for stage, n in enumerate(cfg.blocks):
        for j in range(n):
            positions[stage, j] = i
            i += 1
    return positions


def deepen(state: dict[str, torch.Tensor], old: ModelConfig, blocks: tuple[int, ...]) -> nn.Module:
    """A residual net with more blocks per stage that computes exactly what `state` did.

    Net2DeeperNet-style warm start: every trained layer keeps its weights, and each added
    block (stride 1, identity shortcut) starts as the identity because its last BN scale is
    zero, so training resumes from the old accuracy with extra capacity to grow into.
    """
    if old.name not in ("resnet", "rescov"):
        raise ValueError(f"only residual models can be deepened, not {old.name!r}")
    if len(blocks) != len(old.blocks) or any(
        n < o for n, o in zip(blocks, old.blocks, strict=True)
    ):
        raise ValueError(f"blocks {blocks} must keep {len(old.blocks)} stages of >= {old.blocks}")
    new = replace(old, blocks=tuple(blocks))
    model = build_model(new)
    old_pos, new_pos = _block_positions(old), _block_positions(new)
    moved = {0: 0} | {old_pos[key]: new_pos[key] for key in old_pos}
    renamed = {}
    for key, value in state.items():
        if key.startswith("features."):
            _, index, rest = key.split(".", 2)
            key = f"features.{moved[int(index)]}.{rest}"
        renamed[key] = value
    try:
        missing, unexpected = model.load_state_dict(renamed, strict=False)
    except RuntimeError as exc:  # shape mismatches
        raise ValueError(f"state does not match {old}: {exc}") from exc
    added = {new_pos[key] for key in new_pos.keys() - old_pos.keys()}
    if unexpected or any(int(k.split(".")[1]) not in added for k in missing):
        raise ValueError(f"state does not match {old}: missing {missing}, unexpected {unexpected}")
    for index in added:
        nn.init.zeros_(model.features[index].conv2[1].weight)
    return model


def fuse_for_inference(model: nn.Module) -> nn.Module:
    """Fold every BN that follows a conv into it (eval mode only)."""
    model.eval()
    for m in model.modules():
        if isinstance(m, ConvBN):
            m.fuse()
    return model


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


DEFAULT_CONFIGS: dict[str, ModelConfig] = {
    "baseline": ModelConfig(name="baseline", widths=(32, 64, 128), fc_layers=2),
    "covpool": ModelConfig(name="covpool", widths=(32, 64, 128), fc_layers=2),
    "resnet": ModelConfig(name="resnet"),
    "rescov": ModelConfig(name="rescov", cov_channels=48, fc_layers=2),
}


def default_config(name: str, **overrides: object) -> ModelConfig:
    base = DEFAULT_CONFIGS.get(name, ModelConfig(name=name))
    return ModelConfig.from_dict({**base.to_dict(), **overrides})
