"""HiFi-GAN multi-period + multi-scale discriminators, sized by ``discriminator_params`` (official keys).

Every discriminator returns its list of feature maps, the last being its real/fake score map. All
convolutions use weight norm (the official first scale uses spectral norm; we do not).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

_PERIOD_KEYS = {
    "in_channels",
    "out_channels",
    "kernel_sizes",
    "channels",
    "downsample_scales",
    "max_downsample_channels",
    "bias",
    "nonlinear_activation",
    "nonlinear_activation_params",
    "use_weight_norm",
    "use_spectral_norm",
}
_SCALE_KEYS = {
    "in_channels",
    "out_channels",
    "kernel_sizes",
    "channels",
    "max_downsample_channels",
    "max_groups",
    "bias",
    "downsample_scales",
    "nonlinear_activation",
    "nonlinear_activation_params",
}
_TOP_KEYS = {
    "periods",
    "period_discriminator_params",
    "scales",
    "scale_discriminator_params",
    "scale_downsample_pooling",
    "scale_downsample_pooling_params",
    "follow_official_norm",
}


def _check(d: dict[str, Any], allowed: set[str], where: str) -> None:
    bad = sorted(set(d) - allowed)
    if bad:
        raise ValueError(f"discriminator_params{where}: unknown keys {bad}")


def _conv_stack(convs: nn.ModuleList, output_conv: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Leaky-ReLU conv stack; returns every hidden feature map (for feature matching) and the output last."""
    feats = []
    for conv in convs:
        x = F.leaky_relu(conv(x), 0.1)
        feats.append(x)
    feats.append(output_conv(x))
    return feats


class PeriodDiscriminator(nn.Module):
    """Waveform folded into ``[B, 1, T / p, p]`` and scored by strided 2-D convs."""

    def __init__(self, period: int, p: dict[str, Any]) -> None:
        super().__init__()
        self.period = period
        k, k_out = p.get("kernel_sizes", [5, 3])
        ch_in, ch = 1, int(p.get("channels", 32))
        layers = []
        for ds in p.get("downsample_scales", [3, 3, 3, 3, 1]):
            layers.append(weight_norm(nn.Conv2d(ch_in, ch, (k, 1), (ds, 1), padding=((k - 1) // 2, 0))))
            ch_in, ch = ch, min(ch * 4, int(p.get("max_downsample_channels", 1024)))
        self.convs = nn.ModuleList(layers)
        self.output_conv = weight_norm(nn.Conv2d(ch_in, 1, (k_out, 1), padding=((k_out - 1) // 2, 0)))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``[B, 1, T]`` -> feature maps."""
        b, c, t = x.shape
        if t % self.period:
            x = F.pad(x, (0, self.period - t % self.period), mode="reflect")
        x = x.view(b, c, -1, self.period)
        return _conv_stack(self.convs, self.output_conv, x)


class ScaleDiscriminator(nn.Module):
    """Strided grouped 1-D convs on the (pooled) waveform."""

    def __init__(self, p: dict[str, Any]) -> None:
        super().__init__()
        k0, k1, k2, k3 = p.get("kernel_sizes", [15, 41, 5, 3])
        ch = int(p.get("channels", 128))
        max_ch = int(p.get("max_downsample_channels", 1024))
        max_groups = int(p.get("max_groups", 16))
        layers = [weight_norm(nn.Conv1d(1, ch, k0, padding=(k0 - 1) // 2))]
        ch_in, groups = ch, 4
        for ds in p.get("downsample_scales", [4, 4, 4, 4, 1]):
            ch_out = min(ch_in * 2, max_ch)
            g = min(groups, max_groups)
            while ch_in % g or ch_out % g:
                g //= 2
            layers.append(weight_norm(nn.Conv1d(ch_in, ch_out, k1, ds, padding=(k1 - 1) // 2, groups=g)))
            ch_in, groups = ch_out, groups * 4
        layers.append(weight_norm(nn.Conv1d(ch_in, ch_in, k2, padding=(k2 - 1) // 2)))
        self.convs = nn.ModuleList(layers)
        self.output_conv = weight_norm(nn.Conv1d(ch_in, 1, k3, padding=(k3 - 1) // 2))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return _conv_stack(self.convs, self.output_conv, x)


class Discriminator(nn.Module):
    """Multi-scale (``scales`` average-pooled copies) + multi-period (``periods``) discriminator.

    Args:
        params: the config's ``discriminator_params`` (official key names).
    """

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__()
        _check(params, _TOP_KEYS, "")
        pp = dict(params.get("period_discriminator_params", {}))
        sp = dict(params.get("scale_discriminator_params", {}))
        _check(pp, _PERIOD_KEYS, ".period_discriminator_params")
        _check(sp, _SCALE_KEYS, ".scale_discriminator_params")
        pool = dict(
            params.get("scale_downsample_pooling_params", {"kernel_size": 4, "stride": 2, "padding": 2})
        )
        self.pool = nn.AvgPool1d(**pool)
        self.msd = nn.ModuleList([ScaleDiscriminator(sp) for _ in range(int(params.get("scales", 3)))])
        self.mpd = nn.ModuleList(
            [PeriodDiscriminator(p, pp) for p in params.get("periods", [2, 3, 5, 7, 11])]
        )

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        """``[B, 1, T]`` -> one feature list per sub-discriminator (scales first, then periods)."""
        outs = []
        xs = x
        for i, d in enumerate(self.msd):
            if i:
                xs = self.pool(xs)
            outs.append(d(xs))
        outs.extend(d(x) for d in self.mpd)
        return outs
