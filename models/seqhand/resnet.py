"""ResNet-18/34/50 encoders written here because torchvision does not import beside torch 2.13 on
this machine. Parameter names follow torchvision's, so a torchvision ImageNet state dict saved to a
local file loads with `load_state_dict_file` (nothing is ever downloaded)."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

# depth name -> (block kind, blocks per stage)
ARCHITECTURES: dict[str, tuple[str, tuple[int, int, int, int]]] = {
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
}


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_ch: int, ch: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch)
        self.conv2 = nn.Conv2d(ch, ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_ch, ch * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_ch: int, ch: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, ch, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch)
        self.conv2 = nn.Conv2d(ch, ch, 3, stride, 1, bias=False)  # stride on the 3x3 (torchvision v1.5)
        self.bn2 = nn.BatchNorm2d(ch)
        self.conv3 = nn.Conv2d(ch, ch * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(ch * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_ch, ch * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


def _shortcut(in_ch: int, out_ch: int, stride: int) -> nn.Sequential | None:
    if stride == 1 and in_ch == out_ch:
        return None
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch))


class ResNetEncoder(nn.Module):
    """ResNet trunk without pooling and classifier: image (B,C_in,H,W) -> feature map (B,C,H/32,W/32).

    `width` scales the channel counts (64 at full width); tests use small widths to stay fast. With
    `in_channels` > 3 the first convolution also reads extra channels after the RGB ones (keypoint
    heatmaps); their filters start at zero, so the network starts as the image-only one.
    """

    def __init__(self, depth: str = "resnet50", width: int = 64, in_channels: int = 3) -> None:
        super().__init__()
        if depth not in ARCHITECTURES:
            raise ValueError(f"backbone {depth!r} is not one of {', '.join(ARCHITECTURES)}")
        kind, blocks = ARCHITECTURES[depth]
        block = BasicBlock if kind == "basic" else Bottleneck
        self.conv1 = nn.Conv2d(in_channels, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        in_ch = width
        for i, n in enumerate(blocks):
            ch = width * 2**i
            stride = 1 if i == 0 else 2
            layers = []
            for j in range(n):
                layers.append(block(in_ch, ch, stride if j == 0 else 1))
                in_ch = ch * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*layers))
        self.out_channels = in_ch
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        with torch.no_grad():
            self.conv1.weight[:, 3:].zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def load_state_dict_file(encoder: ResNetEncoder, path: Path) -> list[str]:
    """Load ImageNet (or any) weights saved with torch.save(state_dict) into `encoder`.

    A classifier (`fc.*`) in the file is ignored. An RGB-only first convolution loads into a wider one
    (extra input channels) as its first three input channels; the rest keep their values (zero from
    construction). Returns the encoder keys the file did not provide; raises a one-line error when the file
    is missing or its tensors do not fit.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pretrained backbone file {path} does not exist")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"{path} does not hold a state dict")
    state = {k.removeprefix("module."): v for k, v in state.items() if not k.startswith("fc.")}
    own = encoder.state_dict()
    rgb_conv = state.get("conv1.weight")
    if rgb_conv is not None and own["conv1.weight"].shape[1] > rgb_conv.shape[1] == 3 \
            and own["conv1.weight"].shape[0] == rgb_conv.shape[0]:
        state["conv1.weight"] = torch.cat([rgb_conv, own["conv1.weight"][:, 3:]], dim=1)
    for key, value in state.items():
        if key not in own:
            raise ValueError(f"{path}: unexpected tensor {key!r} for this backbone")
        if own[key].shape != value.shape:
            raise ValueError(f"{path}: tensor {key!r} has shape {tuple(value.shape)}, expected {tuple(own[key].shape)}")
    encoder.load_state_dict(state, strict=False)
    return sorted(set(own) - set(state))
