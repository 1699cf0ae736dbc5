"""AudioDec's causal multi-group HiFi-GAN vocoder: quantized codes ``[B, 64, N]`` -> waveform.

Weight norm uses ``torch.nn.utils.parametrizations.weight_norm``; the official checkpoints were saved
with the old API, so ``weight_g``/``weight_v`` keys are renamed to
``parametrizations.weight.original0/original1`` on load and back on save (:meth:`state_dict`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from systems.audiodec.layers import CausalConv1d, CausalConvTranspose1d, reset_streams

_OLD = re.compile(r"\.weight_(g|v)$")
_NEW = re.compile(r"\.parametrizations\.weight\.original(0|1)$")


@dataclass(frozen=True)
class VocoderParams:
    """``generator_params`` of an official HiFiGAN vocoder ``config.yml`` (same key names)."""

    in_channels: int = 64
    out_channels: int = 1
    channels: int = 512
    kernel_size: int = 7
    upsample_scales: tuple[int, ...] = (5, 5, 4, 3)
    upsample_kernel_sizes: tuple[int, ...] = (10, 10, 8, 6)
    resblock_kernel_sizes: tuple[int, ...] = (11,)
    resblock_dilations: tuple[tuple[int, ...], ...] = ((1, 3, 5),)
    groups: int = 3
    bias: bool = True
    use_additional_convs: bool = True
    nonlinear_activation: str = "LeakyReLU"
    nonlinear_activation_params: dict[str, float] = field(default_factory=lambda: {"negative_slope": 0.1})
    use_weight_norm: bool = True
    stats: str | None = "code statistics"

    @property
    def hop(self) -> int:
        h = 1
        for s in self.upsample_scales:
            h *= s
        return h


def _to_parametrization_names(module: nn.Module, state_dict: dict[str, Any], prefix: str, *_: Any) -> None:
    """Load hook: ``x.weight_g``/``x.weight_v`` -> ``x.parametrizations.weight.original0/1``."""
    for key in [k for k in state_dict if k.startswith(prefix) and _OLD.search(k)]:
        new = _OLD.sub(
            lambda m: ".parametrizations.weight.original" + ("0" if m.group(1) == "g" else "1"), key
        )
        state_dict[new] = state_dict.pop(key)


def _to_official_names(module: nn.Module, state_dict: dict[str, Any], prefix: str, *_: Any) -> None:
    """State-dict hook: the reverse renaming, so saved files use the official names."""
    for key in [k for k in list(state_dict) if k.startswith(prefix) and _NEW.search(k)]:
        old = _NEW.sub(lambda m: ".weight_" + ("g" if m.group(1) == "0" else "v"), key)
        state_dict[old] = state_dict.pop(key)


class MultiGroupBlock(nn.Module):
    """The input repeated ``groups`` times, grouped HiFi-GAN residual convs, then a 1x1 merge.

    ``[B, C, T]`` -> ``[B, C, T]``; the grouped convs work on ``[B, groups * C, T]``.
    """

    def __init__(
        self, channels: int, kernel_size: int, dilations: tuple[int, ...], groups: int, p: VocoderParams
    ):
        super().__init__()
        self.groups = groups
        wide = channels * groups
        slope = float(p.nonlinear_activation_params.get("negative_slope", 0.1))
        self.activation = nn.LeakyReLU(slope)
        self.convs1 = nn.ModuleList(
            [CausalConv1d(wide, wide, kernel_size, dilation=d, groups=groups, bias=p.bias) for d in dilations]
        )
        self.convs2 = nn.ModuleList(
            [CausalConv1d(wide, wide, kernel_size, dilation=1, groups=groups, bias=p.bias) for _ in dilations]
        )
        self.conv_out = nn.Conv1d(wide, channels, 1, bias=False)

    def _run(self, x: torch.Tensor, streaming: bool) -> torch.Tensor:
        x = x.repeat(1, self.groups, 1)
        for c1, c2 in zip(self.convs1, self.convs2):
            xt = c1.stream(self.activation(x)) if streaming else c1(self.activation(x))
            xt = c2.stream(self.activation(xt)) if streaming else c2(self.activation(xt))
            x = x + xt
        return self.conv_out(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, False)

    def stream(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, True)


class Vocoder(nn.Module):
    """Normalise codes with ``mean``/``scale``, upsample by ``prod(upsample_scales)``, output in [-1, 1].

    Args:
        params: the vocoder ``generator_params``.
    """

    def __init__(self, params: VocoderParams) -> None:
        super().__init__()
        if len(params.resblock_kernel_sizes) != 1 or len(params.resblock_dilations) != 1 or params.groups < 2:
            raise ValueError("only the multi-group vocoder (one resblock kernel, groups >= 2) is supported")
        if params.nonlinear_activation != "LeakyReLU":
            raise ValueError(f"only LeakyReLU is supported (got {params.nonlinear_activation})")
        for s, k in zip(params.upsample_scales, params.upsample_kernel_sizes):
            if k != 2 * s:
                raise ValueError(f"upsample kernel {k} must be twice its scale {s}")
        self.params = params
        self.hop = params.hop
        ch = params.channels
        self.input_conv = CausalConv1d(params.in_channels, ch, params.kernel_size)
        ups, blocks = [], []
        for i, (s, k) in enumerate(zip(params.upsample_scales, params.upsample_kernel_sizes)):
            ups.append(CausalConvTranspose1d(ch // 2**i, ch // 2 ** (i + 1), k, s))
            blocks.append(
                MultiGroupBlock(
                    ch // 2 ** (i + 1),
                    params.resblock_kernel_sizes[0],
                    tuple(params.resblock_dilations[0]),
                    params.groups,
                    params,
                )
            )
        self.upsamples = nn.ModuleList(ups)
        self.blocks = nn.ModuleList(blocks)
        self.output_conv = CausalConv1d(ch // 2 ** len(ups), params.out_channels, params.kernel_size)
        slope = float(params.nonlinear_activation_params.get("negative_slope", 0.1))
        self.activation = nn.LeakyReLU(slope)
        self.output_activation = nn.LeakyReLU()  # default slope 0.01, as the official model
        self.normalize = params.stats is not None
        if self.normalize:
            self.register_buffer("mean", torch.zeros(params.in_channels))
            self.register_buffer("scale", torch.ones(params.in_channels))
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d)):
                nn.init.normal_(m.weight, 0.0, 0.01)
        if params.use_weight_norm:
            for m in list(self.modules()):
                if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d)):
                    weight_norm(m)
        self.register_load_state_dict_pre_hook(_to_parametrization_names)
        self.register_state_dict_post_hook(_to_official_names)

    def set_stats(self, mean: torch.Tensor, scale: torch.Tensor) -> None:
        """Set the code statistics ``[in_channels]`` each."""
        self.mean.copy_(mean)
        self.scale.copy_(scale)

    def _run(self, c: torch.Tensor, streaming: bool) -> torch.Tensor:
        if self.normalize:
            c = (c - self.mean[None, :, None]) / self.scale[None, :, None]
        c = self.input_conv.stream(c) if streaming else self.input_conv(c)
        for up, block in zip(self.upsamples, self.blocks):
            c = up.stream(self.activation(c)) if streaming else up(self.activation(c))
            c = block.stream(c) if streaming else block(c)
        c = self.output_activation(c)
        c = self.output_conv.stream(c) if streaming else self.output_conv(c)
        return torch.tanh(c)

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, in_channels, N]`` -> waveform ``[B, 1, N * hop]``."""
        return self._run(c, False)

    def stream(self, c: torch.Tensor) -> torch.Tensor:
        """One chunk of code frames, continuing from the cached history."""
        return self._run(c, True)

    def reset_streams(self) -> None:
        reset_streams(self)
