"""SPF checkpoints: our format round trip and SGMSE+ Lightning checkpoint import."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from systems.spf.checkpoint import load_checkpoint, save_checkpoint, sha256_file
from systems.spf.config import preset
from systems.spf.model import ScoreModel

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _res(idx: int, cin: int, cout: int, temb: int) -> dict[str, tuple[int, ...]]:
    """Parameter shapes of an SGMSE+ ResnetBlockBigGANpp at ``all_modules.idx``."""
    p = f"all_modules.{idx}"
    d = {f"{p}.GroupNorm_0.weight": (cin,), f"{p}.GroupNorm_0.bias": (cin,),
         f"{p}.Conv_0.weight": (cout, cin, 3, 3), f"{p}.Conv_0.bias": (cout,),
         f"{p}.Dense_0.weight": (cout, temb), f"{p}.Dense_0.bias": (cout,),
         f"{p}.GroupNorm_1.weight": (cout,), f"{p}.GroupNorm_1.bias": (cout,),
         f"{p}.Conv_1.weight": (cout, cout, 3, 3), f"{p}.Conv_1.bias": (cout,)}
    return d


def _skip(idx: int, cin: int, cout: int) -> dict[str, tuple[int, ...]]:
    return {f"all_modules.{idx}.Conv_2.weight": (cout, cin, 1, 1), f"all_modules.{idx}.Conv_2.bias": (cout,)}


def sgmse_layout(nf: int) -> dict[str, tuple[int, ...]]:
    """The flat ``all_modules`` layout of SGMSE+'s ncsnpp_48k for ch_mult [1, 2], 1 res block, written out
    by hand from its construction order (embedding, 2 dense, input conv, down, bottleneck, up, head)."""
    t = 4 * nf
    d: dict[str, tuple[int, ...]] = {"output_layer.weight": (2, 4, 1, 1), "output_layer.bias": (2,),
                                     "all_modules.0.W": (nf,),
                                     "all_modules.1.weight": (t, 2 * nf), "all_modules.1.bias": (t,),
                                     "all_modules.2.weight": (t, t), "all_modules.2.bias": (t,),
                                     "all_modules.3.weight": (nf, 4, 3, 3), "all_modules.3.bias": (nf,)}
    d |= _res(4, nf, nf, t)                                   # level 0 block
    d |= _res(5, nf, nf, t) | _skip(5, nf, nf)                # level 0 downsampling block
    d |= _res(6, nf, 2 * nf, t) | _skip(6, nf, 2 * nf)        # level 1 block
    d |= _res(7, 2 * nf, 2 * nf, t)                           # bottleneck
    c = 2 * nf
    d |= {"all_modules.8.GroupNorm_0.weight": (c,), "all_modules.8.GroupNorm_0.bias": (c,)}
    for k in range(4):
        d |= {f"all_modules.8.NIN_{k}.W": (c, c), f"all_modules.8.NIN_{k}.b": (c,)}
    d |= _res(9, c, c, t)
    d |= _res(10, 4 * nf, 2 * nf, t) | _skip(10, 4 * nf, 2 * nf)   # up level 1: cat(h, skip of block)
    d |= _res(11, 3 * nf, 2 * nf, t) | _skip(11, 3 * nf, 2 * nf)   # cat(h, skip of downsampling)
    d |= _res(12, 2 * nf, 2 * nf, t) | _skip(12, 2 * nf, 2 * nf)   # upsampling block
    d |= _res(13, 3 * nf, nf, t) | _skip(13, 3 * nf, nf)           # up level 0: cat(h, skip of block)
    d |= _res(14, 2 * nf, nf, t) | _skip(14, 2 * nf, nf)           # cat(h, skip of input conv)
    d |= {"all_modules.15.weight": (nf,), "all_modules.15.bias": (nf,),
          "all_modules.16.weight": (4, nf, 3, 3), "all_modules.16.bias": (4,)}
    return d


def test_sgmse_checkpoint_loads_with_ema_weights(tmp_path):
    nf = 8
    layout = sgmse_layout(nf)
    gen = torch.Generator().manual_seed(0)
    raw = {f"dnn.{k}": torch.randn(shape, generator=gen) for k, shape in layout.items()}
    shadow = [torch.randn(v.shape, generator=gen) * 0.1 for v in raw.values()]
    hp = {"backbone": "ncsnpp_48k", "sde": "ouve", "nf": nf, "ch_mult": [1, 2], "num_res_blocks": 1,
          "attn_resolutions": [], "progressive": "none", "progressive_input": "none", "theta": 1.5,
          "sigma_min": 0.05, "sigma_max": 0.5, "t_eps": 0.03, "n_fft": 254, "hop_length": 64,
          "spec_factor": 0.33, "spec_abs_exponent": 0.3, "window": "hann", "transform_type": "exponent"}
    path = tmp_path / "epoch=1.ckpt"
    torch.save({"state_dict": raw, "ema": {"decay": 0.999, "num_updates": 10, "shadow_params": shadow},
                "hyper_parameters": hp, "epoch": 1}, path)
    model, info = load_checkpoint(path)
    assert info["format"] == "sgmse+" and info["sha256"] == sha256_file(path)
    assert model.cfg.stft.alpha == 0.3 and model.cfg.stft.beta == 0.33 and model.cfg.stft.n_fft == 254
    assert model.cfg.backbone.output_scaling == "t"
    ema = dict(zip(layout, shadow))
    sd = model.state_dict()
    assert torch.equal(sd["backbone.time_embed.freqs"], ema["all_modules.0.W"])
    assert torch.equal(sd["backbone.down.0.downsample.skip.weight"], ema["all_modules.5.Conv_2.weight"])
    assert torch.equal(sd["backbone.bottleneck.attn.query.weight"], ema["all_modules.8.NIN_0.W"].t())
    assert torch.equal(sd["backbone.up.1.blocks.1.conv1.bias"], ema["all_modules.14.Conv_0.bias"])
    assert torch.equal(sd["backbone.out_conv.weight"], ema["all_modules.16.weight"])
    x = torch.randn(1, 1, 128, 8, dtype=torch.complex64)
    assert torch.isfinite(model(x, x, torch.tensor([0.5])).real).all()


def test_sgmse_checkpoint_with_other_layout_is_refused(tmp_path):
    path = tmp_path / "x.ckpt"
    torch.save({"state_dict": {"dnn.all_modules.0.W": torch.zeros(8)},
                "hyper_parameters": {"backbone": "ncsnpp", "progressive": "output_skip"}}, path)
    with pytest.raises(ValueError, match="progressive"):
        load_checkpoint(path)


def test_own_checkpoint_round_trip(tmp_path):
    model = ScoreModel(preset("tiny"))
    ema = {k: v + 1.0 for k, v in model.state_dict().items()}
    sha = save_checkpoint(tmp_path / "spf.pt", model, ema, {"codecs": ["opus"], "step": 3})
    loaded, info = load_checkpoint(tmp_path / "spf.pt")
    assert info["sha256"] == sha and info["meta"]["codecs"] == ["opus"]
    assert loaded.cfg.to_dict() == model.cfg.to_dict()
    for k, v in loaded.state_dict().items():
        assert torch.equal(v, ema[k]), k  # the EMA weights are the inference weights
    torch.save({"format": "codec-bench-spf", "version": 1, "config": {"sde": {"nope": 1}}, "state_dict": {}},
               tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="unknown key"):
        load_checkpoint(tmp_path / "bad.pt")
    assert np.isfinite(len(sha))
