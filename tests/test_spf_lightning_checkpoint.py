"""SGMSE+ checkpoints as PyTorch Lightning really writes them (ModelCheckpoint, save_hyperparameters with a
class in them, torch_ema state), loaded safely: no class from the file is imported or called."""

from __future__ import annotations

import pytest
import torch
from test_spf_checkpoint import sgmse_layout
from torch import nn

pl = pytest.importorskip("pytorch_lightning")
torch_ema = pytest.importorskip("torch_ema")

pytestmark = pytest.mark.usefixtures("torch_one_thread")

NF = 8
#: SGMSE+'s train.py passes every argument group to ScoreModel; these are the ones our loader reads
HPARAMS = {"nf": NF, "ch_mult": [1, 2], "num_res_blocks": 1, "attn_resolutions": [], "centered": True,
           "progressive": "none", "progressive_input": "none", "theta": 1.5, "sigma_min": 0.05, "sigma_max": 0.5,
           "t_eps": 0.03, "n_fft": 254, "hop_length": 64, "spec_factor": 0.33, "spec_abs_exponent": 0.3,
           "window": "hann", "transform_type": "exponent", "loss_type": "score_matching", "batch_size": 1}


class TinySpecsDataModule(pl.LightningDataModule):
    """Stands in for SGMSE+'s SpecsDataModule: ScoreModel stores the class in its hyper-parameters."""

    constructed = 0

    def __init__(self, **kwargs) -> None:
        super().__init__()
        TinySpecsDataModule.constructed += 1


class LayoutNet(nn.Module):
    """Parameters named and ordered like SGMSE+'s NCSN++ (``all_modules.<i>...``, ``output_layer``)."""

    def __init__(self, layout: dict[str, tuple[int, ...]]) -> None:
        super().__init__()
        for key, shape in layout.items():
            *path, leaf = key.split(".")
            mod: nn.Module = self
            for part in path:
                if part not in mod._modules:
                    mod.add_module(part, nn.Module())
                mod = mod._modules[part]
            mod.register_parameter(leaf, nn.Parameter(0.1 * torch.randn(shape)))


class TinyScoreModel(pl.LightningModule):
    """Saves its state the way SGMSE+'s ScoreModel does: ``save_hyperparameters`` (a class among them),
    an ExponentialMovingAverage of the network updated after each optimizer step, stored as ``ema``."""

    def __init__(self, backbone, sde, lr=1e-3, ema_decay=0.999, data_module_cls=None, **kwargs):
        super().__init__()
        self.backbone = backbone
        self.dnn = LayoutNet(sgmse_layout(kwargs["nf"]))
        self.ema = torch_ema.ExponentialMovingAverage(self.parameters(), decay=ema_decay)
        self.lr = lr
        self.save_hyperparameters(ignore=["no_wandb"])
        self.data_module = data_module_cls(**kwargs)

    def training_step(self, batch, batch_idx):
        return batch[0].pow(2).mean() * sum(p.pow(2).mean() for p in self.dnn.parameters())

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)

    def optimizer_step(self, *args, **kwargs):
        super().optimizer_step(*args, **kwargs)
        self.ema.update(self.dnn.parameters())

    def on_save_checkpoint(self, checkpoint):
        checkpoint["ema"] = self.ema.state_dict()


@pytest.fixture(scope="module")
def lightning_ckpt(tmp_path_factory) -> tuple[TinyScoreModel, object]:
    """Two optimizer steps of TinyScoreModel on random data; Lightning's ModelCheckpoint writes last.ckpt."""
    tmp_path = tmp_path_factory.mktemp("lightning")
    torch.manual_seed(0)
    model = TinyScoreModel("ncsnpp_48k", "ouve", data_module_cls=TinySpecsDataModule, **HPARAMS)
    ckpt = pl.callbacks.ModelCheckpoint(dirpath=tmp_path, save_last=True)
    trainer = pl.Trainer(max_steps=2, accelerator="cpu", devices=1, logger=False, callbacks=[ckpt],
                         enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(4, 3)), batch_size=1)
    trainer.fit(model, data)
    return model, tmp_path / "last.ckpt"


def test_lightning_checkpoint_with_a_class_in_its_hyper_parameters_loads_its_ema_weights(lightning_ckpt):
    from systems.spf.checkpoint import load_checkpoint

    trained, path = lightning_ckpt
    assert path.is_file()
    # what plain weights_only loading does with it (the reason for the placeholder mechanism)
    with pytest.raises(Exception, match="Unsupported global"):
        torch.load(path, weights_only=True)
    constructed = TinySpecsDataModule.constructed
    model, info = load_checkpoint(path)
    assert TinySpecsDataModule.constructed == constructed  # the class in the file was never called
    hp = info["meta"]["hyper_parameters"]
    assert info["format"] == "sgmse+"
    assert hp["data_module_cls"] == f"{__name__}.TinySpecsDataModule" and hp["nf"] == NF
    assert model.cfg.stft.n_fft == 254 and model.cfg.stft.beta == 0.33 and model.cfg.backbone.ch_mult == [1, 2]
    # the EMA weights, not the raw ones, mapped onto our modules
    names = [k for k, _ in trained.dnn.named_parameters()]
    shadow = dict(zip(names, trained.ema.shadow_params))
    raw = dict(trained.dnn.named_parameters())
    sd = model.state_dict()
    for ours, theirs, transpose in [("backbone.time_embed.freqs", "all_modules.0.W", False),
                                    ("backbone.bottleneck.attn.query.weight", "all_modules.8.NIN_0.W", True),
                                    ("backbone.up.1.blocks.1.conv1.bias", "all_modules.14.Conv_0.bias", False),
                                    ("backbone.output_layer.weight", "output_layer.weight", False)]:
        want = shadow[theirs].t() if transpose else shadow[theirs]
        assert torch.equal(sd[ours], want)
        assert not torch.equal(sd[ours], raw[theirs].detach().t() if transpose else raw[theirs].detach())
    x = torch.randn(1, 1, 128, 8, dtype=torch.complex64)
    assert torch.isfinite(model(x, x, torch.tensor([0.5])).real).all()


@pytest.mark.parametrize(("override", "message"), [({"centered": False}, "centered=False"),
                                                    ({"loss_type": "data_prediction"}, "data predictor"),
                                                    ({"fir": False}, "fir=False")])
def test_lightning_checkpoint_with_an_unsupported_setting_is_refused(lightning_ckpt, tmp_path, override, message):
    """The real checkpoint with one hyper-parameter changed (rewritten by this test: a trusted file)."""
    from systems.spf.checkpoint import load_checkpoint

    payload = torch.load(lightning_ckpt[1], weights_only=False)
    payload["hyper_parameters"].update(override)
    path = tmp_path / "changed.ckpt"
    torch.save(payload, path)
    with pytest.raises(ValueError, match=message) as err:
        load_checkpoint(path)
    assert str(path) in str(err.value)
