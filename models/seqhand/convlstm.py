"""ConvLSTM cell (Shi et al. 2015) used as SeqHAND-Net's recurrent layer on the last feature map.

Stepping the cell one frame at a time is exactly what the streaming ONNX model does, so the
sequence forward is written as a loop over `step` — the two can never disagree.
"""
from __future__ import annotations

import torch
from torch import nn


class ConvLSTMCell(nn.Module):
    """One ConvLSTM step: gates from a k x k convolution over [x, h] (no peepholes)."""

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.hidden_channels = hidden_channels
        self.gates = nn.Conv2d(in_channels + hidden_channels, 4 * hidden_channels, kernel_size,
                               padding=kernel_size // 2)
        with torch.no_grad():  # forget-gate bias 1: remember by default at the start of training
            self.gates.bias.zero_()
            self.gates.bias[hidden_channels : 2 * hidden_channels].fill_(1.0)

    def initial_state(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, _, hgt, wid = x.shape
        zeros = x.new_zeros(b, self.hidden_channels, hgt, wid)
        return zeros, zeros.clone()

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = state
        i, f, g, o = torch.chunk(self.gates(torch.cat([x, h], dim=1)), 4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c
