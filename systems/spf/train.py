"""Training of the SPF: Adam, EMA weights, random crops, resumable checkpoints; one loss per SDE.

Both losses draw ``t ~ U(t_eps, 1)``, ``x_t = mean(x0, y, t) + std(t) z``.
OUVE, denoising score matching (sigma^2 weighting): ``loss = mean |score(x_t, y, t) std(t) + z|^2``.
SBVE, data prediction (SGMSE+): ``loss = mean |x0_hat - x0|^2 / 2 + l1_weight * mean |istft(x0_hat) - istft(x0)| / 2``
(SGMSE+'s optional PESQ term needs the torch-pesq package and is not included). Each step's randomness comes from a generator seeded
by (seed, step), so a resumed run continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from systems.spf.checkpoint import save_checkpoint
from systems.spf.config import SPFConfig
from systems.spf.data import Pair, random_crops
from systems.spf.model import ScoreModel


class EMA:
    """Exponential moving average of a model's parameters (and a copy of its buffers).

    The effective decay warms up as ``min(decay, (1 + n) / (10 + n))`` after n updates (as torch_ema,
    which SGMSE+ uses), so early checkpoints are not dominated by the random initialisation.
    """

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.num_updates = 0
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.num_updates += 1
        decay = min(self.decay, (1 + self.num_updates) / (10 + self.num_updates))
        for k, v in model.state_dict().items():
            if v.dtype.is_floating_point:
                self.shadow[k].mul_(decay).add_(v.detach(), alpha=1 - decay)
            else:
                self.shadow[k].copy_(v)


def _perturb(
    model: ScoreModel, clean: torch.Tensor, coded: torch.Tensor, gen: torch.Generator
) -> tuple[torch.Tensor, ...]:
    """Spectrograms and a random point on the forward process: ``(x0, y, t [B], std [B,1,1,1], z, x_t)``."""
    x0, _ = model.stft.pad_frames(model.stft.forward(clean))
    y, _ = model.stft.pad_frames(model.stft.forward(coded))
    b = x0.shape[0]
    t_eps = model.cfg.sde.t_eps
    t = (torch.rand(b, generator=gen) * (1 - t_eps) + t_eps).to(x0.device)
    z = torch.randn(x0.shape, generator=gen, dtype=torch.complex64).to(x0.device)
    std = model.sde.std(t).view(-1, 1, 1, 1)
    x_t = model.sde.mean(x0, y, t) + std * z
    return x0, y, t, std, z, x_t


def dsm_loss(model: ScoreModel, clean: torch.Tensor, coded: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Denoising score-matching loss for waveform crops ``clean, coded [B, n]`` (OUVE)."""
    _, y, t, std, z, x_t = _perturb(model, clean, coded, gen)
    score = model(x_t, y, t)
    return (score * std + z).abs().square().mean()


def data_prediction_loss(
    model: ScoreModel, clean: torch.Tensor, coded: torch.Tensor, gen: torch.Generator
) -> torch.Tensor:
    """SGMSE+'s data-prediction loss for waveform crops ``clean, coded [B, n]`` (SBVE): spectrogram MSE plus
    ``train.l1_weight`` times the waveform L1 distance, both halved as in SGMSE+."""
    x0, y, t, _, _, x_t = _perturb(model, clean, coded, gen)
    x0_hat = model(x_t, y, t)
    loss_tf = 0.5 * (x0_hat - x0).abs().square().mean()
    n = clean.shape[-1]
    frames = model.stft.num_frames(n)
    wave_hat, wave = (model.stft.inverse(s[..., :frames], n) for s in (x0_hat, x0))
    loss_td = 0.5 * (wave_hat - wave).abs().mean()
    return loss_tf + model.cfg.train.l1_weight * loss_td


#: ``sde.name`` -> its training loss
LOSSES: dict[str, Callable[..., torch.Tensor]] = {"ouve": dsm_loss, "sbve": data_prediction_loss}


class Trainer:
    """Holds the model, its EMA, the optimiser and the step counter.

    Args:
        cfg: SPF config (``train`` section: lr, ema_decay, batch_size, crop_frames, seed).
        device: torch device.
        amp: mixed precision (float16 autocast of the network with a gradient scaler); CUDA only.
    """

    def __init__(self, cfg: SPFConfig, device: str = "cpu", amp: bool = False) -> None:
        if amp and not str(device).startswith("cuda"):
            raise ValueError(f"mixed precision (amp) needs a CUDA device, got {device!r}")
        torch.manual_seed(cfg.train.seed)
        if cfg.train.crop_frames % cfg.stft.frame_multiple:
            raise ValueError(f"train.crop_frames {cfg.train.crop_frames} not a multiple of {cfg.stft.frame_multiple}")
        self.cfg = cfg
        self.device = device
        self.model = ScoreModel(cfg).to(device)
        self.ema = EMA(self.model, cfg.train.ema_decay)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.train.lr)
        self.amp = amp
        self.scaler = torch.amp.GradScaler("cuda", enabled=amp) if amp else None
        self.step = 0
        self.crop_samples = (cfg.train.crop_frames - 1) * cfg.stft.hop

    def train_step(self, pairs: list[Pair]) -> float:
        """One optimiser step on a random batch; returns the loss."""
        seed_seq = np.random.SeedSequence([self.cfg.train.seed, self.step])
        rng = np.random.default_rng(seed_seq)
        gen = torch.Generator().manual_seed(int(seed_seq.generate_state(1)[0]))
        clean, coded = random_crops(pairs, self.cfg.train.batch_size, self.crop_samples, rng)
        self.model.train()
        with torch.autocast("cuda", dtype=torch.float16, enabled=self.amp):
            loss = LOSSES[self.cfg.sde.name](self.model, torch.from_numpy(clean).to(self.device),
                                             torch.from_numpy(coded).to(self.device), gen)
        self.opt.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.opt)
            self.scaler.update()
        else:
            loss.backward()
            self.opt.step()
        self.ema.update(self.model)
        self.step += 1
        return float(loss.detach())

    def train_state(self) -> dict[str, Any]:
        """Everything needed to resume."""
        state = {"model": self.model.state_dict(), "optimizer": self.opt.state_dict(), "step": self.step,
                 "ema_updates": self.ema.num_updates}
        if self.scaler is not None:
            state["grad_scaler"] = self.scaler.state_dict()
        return state

    def load_train_state(self, payload: dict[str, Any]) -> None:
        """Resume from a checkpoint dict of our format (EMA from ``state_dict``)."""
        ts = payload.get("train_state")
        if ts is None:
            raise ValueError("checkpoint has no train_state: it cannot be resumed (shipped weights are inference-only)")
        self.model.load_state_dict(ts["model"], strict=True)
        self.opt.load_state_dict(ts["optimizer"])
        self.ema.shadow = {k: v.clone().to(self.device) for k, v in payload["state_dict"].items()}
        self.step = int(ts["step"])
        self.ema.num_updates = int(ts.get("ema_updates", self.step))
        if self.scaler is not None and "grad_scaler" in ts:
            self.scaler.load_state_dict(ts["grad_scaler"])

    def save(self, path: Path, meta: dict[str, Any], with_train_state: bool = True) -> str:
        """Write our checkpoint format; returns sha256."""
        meta = {**meta, "step": self.step}
        return save_checkpoint(path, self.model, self.ema.shadow, meta,
                               self.train_state() if with_train_state else None)


def train_loop(
    trainer: Trainer,
    pairs: list[Pair],
    steps: int,
    out_dir: Path,
    meta: dict[str, Any],
    progress: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Train until ``trainer.step == steps``, writing ``last.pt`` every ``save_every`` steps and at the end,
    and one JSON line per ``log_every`` steps to ``train_log.jsonl``. Returns the losses of this call."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = trainer.cfg.train
    losses: list[float] = []
    window: list[float] = []
    t0 = time.perf_counter()
    with open(out_dir / "train_log.jsonl", "a") as log:
        while trainer.step < steps:
            loss = trainer.train_step(pairs)
            losses.append(loss)
            window.append(loss)
            if progress:
                progress(trainer.step, loss)
            if trainer.step % cfg.log_every == 0 or trainer.step == steps:
                log.write(json.dumps({"step": trainer.step, "loss": float(np.mean(window)),
                                      "seconds": round(time.perf_counter() - t0, 2)}) + "\n")
                log.flush()
                window = []
            if trainer.step % cfg.save_every == 0 or trainer.step == steps:
                trainer.save(out_dir / "last.pt", meta)
    return losses
