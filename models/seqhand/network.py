"""SeqHAND-Net: ResNet encoder -> recurrent layer -> global pool -> linear -> 26 hand parameters.

The network stops at the 26 parameters [theta PCA 10, beta 10, s, tx, ty, rx, ry, rz]: that is what
the streaming ONNX model outputs, and the hand model runs outside it (numpy in the engine, the torch
`HandLayer` in training, see `hand_geometry`). Three recurrent variants for the paper's Table 2:
`convlstm` (SeqHAND-Net), `lstm` (Encoder+LSTM on the pooled feature), `none` (per-frame baseline).
With `head_skip` the head reads the pooled encoder feature beside the recurrent state, whose columns
start at zero: the temporal model then contains the per-frame one and starts training as it (at CPU
budgets a plain ConvLSTM head trailed the per-frame model; see docs/history/seqhand_compact_halfwidth.onnx.md).
With `keypoint_heatmaps` the encoder's first convolution also reads 21 keypoint heatmaps beside the RGB
(`models.heatmaps`): the image-plus-heatmaps input of Boukhayma et al. 2019, so the network can lean
on a 2-D detector trained on real images; everything after the first convolution is the same.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from models.heatmaps import NUM_KEYPOINTS
from models.rotations import rodrigues
from models.seqhand.config import ModelOptions
from models.seqhand.convlstm import ConvLSTMCell
from models.seqhand.resnet import ResNetEncoder, load_state_dict_file

NUM_PARAMS = 26
POSE_PCA = 10
THETA, BETA, SCALE, TRANS, ROT = slice(0, 10), slice(10, 20), 20, slice(21, 23), slice(23, 26)

# ImageNet statistics: normalisation lives inside the graph so callers feed RGB in [0, 1].
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)

State = tuple[torch.Tensor, torch.Tensor]


class SeqHandNet(nn.Module):
    """Images (B,T,3,S,S) RGB in [0,1] (and, with `keypoint_heatmaps`, heatmaps (B,T,21,S,S)) -> parameters
    (B,T,26), carrying (h, c) across frames."""

    def __init__(self, options: ModelOptions) -> None:
        super().__init__()
        self.options = options
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)
        self.encoder = ResNetEncoder(options.backbone, options.width, 3 + self.heatmap_channels)
        if options.pretrained_backbone:
            load_state_dict_file(self.encoder, options.pretrained_backbone)
        feat = self.encoder.out_channels
        self.convlstm: ConvLSTMCell | None = None
        self.lstm: nn.LSTMCell | None = None
        if options.temporal == "convlstm":
            self.convlstm = ConvLSTMCell(feat, options.hidden, options.kernel_size)
        elif options.temporal == "lstm":
            self.lstm = nn.LSTMCell(feat, options.hidden)
        if options.temporal == "none":
            head_in = feat
        else:
            head_in = options.hidden + (feat if options.head_skip else 0)
        self.head = nn.Linear(head_in, NUM_PARAMS)
        with torch.no_grad():  # start at the mean hand, unrotated, centred, at scale_init
            self.head.weight.mul_(0.01)
            self.head.bias.zero_()
            if options.temporal != "none" and options.head_skip:
                # the recurrent state's columns start at zero: training begins as the per-frame model and
                # the recurrent path contributes only what it learns to add
                self.head.weight[:, : options.hidden].zero_()

    @property
    def heatmap_channels(self) -> int:
        """Keypoint heatmaps the network reads beside the RGB: 21 or none."""
        return NUM_KEYPOINTS if self.options.keypoint_heatmaps else 0

    @property
    def feature_size(self) -> int:
        return self.options.input_size // 32

    @property
    def state_shape(self) -> tuple[int, ...]:
        """Shape of h and c for batch 1 (the ONNX `h`/`c` inputs); () for the per-frame model."""
        if self.convlstm is not None:
            return (1, self.options.hidden, self.feature_size, self.feature_size)
        if self.lstm is not None:
            return (1, self.options.hidden)
        return ()

    def initial_state(self, batch: int, device: torch.device | None = None) -> State:
        """Zeros: a fresh track."""
        shape = self.state_shape or (1, 1)
        zeros = torch.zeros((batch, *shape[1:]), device=device)
        return zeros, zeros.clone()

    def step(self, image: torch.Tensor, state: State, heatmaps: torch.Tensor | None = None
             ) -> tuple[torch.Tensor, State]:
        """One frame (B,3,S,S) [+ heatmaps (B,21,S,S)] -> (params (B,26), new state): the streaming model."""
        return self._recurrent(self._encode(image, heatmaps), state)

    def forward(self, images: torch.Tensor, state: State | None = None, heatmaps: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, State]:
        """A sequence (B,T,3,S,S) [+ heatmaps (B,T,21,S,S)] -> (params (B,T,26), final state). The encoder sees
        all frames at once."""
        b, t = images.shape[:2]
        feats = self._encode(images.flatten(0, 1), None if heatmaps is None else heatmaps.flatten(0, 1))
        feats = feats.unflatten(0, (b, t))
        if state is None:
            state = self.initial_state(b, images.device)
        out = []
        for i in range(t):
            params, state = self._recurrent(feats[:, i], state)
            out.append(params)
        return torch.stack(out, dim=1), state

    def _encode(self, image: torch.Tensor, heatmaps: torch.Tensor | None) -> torch.Tensor:
        x = (image - self.mean) / self.std
        if self.heatmap_channels:
            if heatmaps is None:
                raise ValueError(f"this SeqHAND-Net reads {self.heatmap_channels} keypoint heatmaps beside "
                                 "the image; got none")
            x = torch.cat([x, heatmaps.to(x.dtype)], dim=1)
        elif heatmaps is not None:
            raise ValueError("this SeqHAND-Net reads images only (model.keypoint_heatmaps is off); got heatmaps")
        return self.encoder(x)

    def _recurrent(self, feat: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        frame = feat.mean(dim=(2, 3))
        if self.convlstm is not None:
            state = self.convlstm(feat, state)
            pooled = state[0].mean(dim=(2, 3))
        elif self.lstm is not None:
            state = self.lstm(frame, state)
            pooled = state[0]
        else:
            return self.decode(self.head(frame)), state
        if self.options.head_skip:
            pooled = torch.cat([pooled, frame], dim=1)
        return self.decode(self.head(pooled)), state

    def decode(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw head output -> parameters; the scale is kept positive as scale_init * exp(raw)."""
        scale = self.options.scale_init * torch.exp(raw[..., SCALE : SCALE + 1].clamp(-5.0, 5.0))
        return torch.cat([raw[..., :SCALE], scale, raw[..., SCALE + 1 :]], dim=-1)

    def recurrent_parameters(self) -> list[nn.Parameter]:
        """What the finetune stage freezes (TrainC): the ConvLSTM (or LSTM)."""
        layer = self.convlstm if self.convlstm is not None else self.lstm
        return [] if layer is None else list(layer.parameters())


@dataclass
class HandGeometry:
    """Hand model outputs for predicted parameters: 3-D rotated by R (metres, hand-model origin) and
    their weak-perspective projection s * (R X)[:2] + t in crop coordinates ([-1, 1] spans the crop)."""

    joints_3d: torch.Tensor  # (..., 21, 3)
    vertices_3d: torch.Tensor  # (..., V, 3)
    joints_2d: torch.Tensor  # (..., 21, 2)
    vertices_2d: torch.Tensor  # (..., V, 2)


def hand_geometry(params: torch.Tensor, hand_layer: nn.Module) -> HandGeometry:
    """Eq. 3-4: run the hand layer on theta, beta (no global orientation), rotate by R(r), project."""
    lead = params.shape[:-1]
    flat = params.reshape(-1, NUM_PARAMS)
    zeros = flat.new_zeros(flat.shape[0], 3)
    vertices, joints = hand_layer(flat[:, THETA], flat[:, BETA], zeros)
    rot = rodrigues(flat[:, ROT])
    joints = joints @ rot.transpose(1, 2)
    vertices = vertices @ rot.transpose(1, 2)
    s = flat[:, SCALE, None, None]
    t = flat[:, None, TRANS]
    return HandGeometry(
        joints_3d=joints.reshape(*lead, *joints.shape[1:]),
        vertices_3d=vertices.reshape(*lead, *vertices.shape[1:]),
        joints_2d=(s * joints[..., :2] + t).reshape(*lead, joints.shape[1], 2),
        vertices_2d=(s * vertices[..., :2] + t).reshape(*lead, vertices.shape[1], 2),
    )
