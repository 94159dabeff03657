"""SeqHAND-Net variants: what the head reads."""
from __future__ import annotations

import pytest
import torch

from models.seqhand.config import ModelOptions
from models.seqhand.network import SeqHandNet


def _net(head_skip: bool) -> SeqHandNet:
    torch.manual_seed(0)
    net = SeqHandNet(ModelOptions(backbone="resnet18", width=8, input_size=64, temporal="convlstm", hidden=16,
                                  head_skip=head_skip)).eval()
    with torch.no_grad():
        net.head.weight.normal_(0, 0.1)
        net.convlstm.gates.weight.zero_()  # a ConvLSTM that ignores its input: state stays zero
        net.convlstm.gates.bias.zero_()
    return net


@pytest.mark.parametrize("head_skip", [False, True])
def test_head_skip_lets_the_frame_reach_the_head_past_the_convlstm(head_skip: bool) -> None:
    net = _net(head_skip)
    assert net.head.in_features == 16 + (net.encoder.out_channels if head_skip else 0)
    frames = torch.rand(2, 3, 3, 64, 64)
    with torch.no_grad():
        params, _ = net(frames)
    spread = (params[0] - params[1]).abs().max().item()
    if head_skip:  # different images, different hands, though the recurrent layer passes nothing on
        assert spread > 1e-3
    else:  # the head sees only the (blank) state: every image gives the same hand
        assert spread < 1e-6


def test_with_head_skip_training_starts_from_the_per_frame_model() -> None:
    """The head's recurrent columns start at zero: before training the state changes nothing, so
    gradient descent begins at the per-frame model and the ConvLSTM adds only what it learns."""
    torch.manual_seed(0)
    options = dict(backbone="resnet18", width=8, input_size=64, hidden=16)
    net = SeqHandNet(ModelOptions(temporal="convlstm", head_skip=True, **options)).eval()
    assert torch.count_nonzero(net.head.weight[:, :16]) == 0
    assert torch.count_nonzero(net.head.weight[:, 16:]) > 0
    frames = torch.rand(1, 4, 3, 64, 64)
    with torch.no_grad():
        params, _ = net(frames)
        alone = torch.cat([net(frames[:, i : i + 1])[0] for i in range(4)], dim=1)  # each frame from a fresh state
    torch.testing.assert_close(params, alone)  # the sequence's memory has no effect yet
    plain = SeqHandNet(ModelOptions(temporal="convlstm", head_skip=False, **options))
    assert torch.count_nonzero(plain.head.weight) > 0  # without the skip the state is all the head reads
