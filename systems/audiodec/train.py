"""Training loops for the three recipes: ``autoencoder`` (stage 1), ``autoencoder-gan`` (stage 2, decoder
only, adversarial) and ``vocoder`` (HiFi-GAN on the frozen encoder's quantized codes).

Checkpoints are written in the official layout with ``config.yml`` beside them; a run resumes from the
newest checkpoint in its output folder.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from systems.audiodec.checkpoint import (
    build_model,
    latest_checkpoint,
    load_generator_state,
    read_checkpoint,
    save_checkpoint,
)
from systems.audiodec.config import ModelConfig, config_for_checkpoint
from systems.audiodec.data import CropSampler
from systems.audiodec.discriminator import Discriminator
from systems.audiodec.generator import Generator
from systems.audiodec.losses import (
    MelLoss,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
)
from systems.audiodec.vocoder import Vocoder

RECIPES = ("autoencoder", "autoencoder-gan", "vocoder")


@dataclass
class TrainRequest:
    """What ``bench train RECIPE`` asked for.

    Attributes:
        recipe: one of RECIPES.
        cfg: the model config (sizes and loss weights).
        data: folder of wav/flac or a corpus spec.
        out: output folder (checkpoints, config.yml, train_log.jsonl/.csv).
        steps: steps to run in this recipe (None: from the config).
        init: (autoencoder-gan) stage-1 checkpoint to start from.
        analyzer: (vocoder) autoencoder checkpoint whose encoder and quantizer produce the codes.
        device: torch device.
        seed: RNG seed (None: the config's).
        batch_size: override of the config's batch size.
        progress: show a tqdm bar.
    """

    recipe: str
    cfg: ModelConfig
    data: str
    out: Path
    steps: int | None = None
    init: Path | None = None
    analyzer: Path | None = None
    device: str = "cpu"
    seed: int | None = None
    batch_size: int | None = None
    progress: bool = True


def _adam(params: Any, settings: dict[str, Any]) -> torch.optim.Adam:
    return torch.optim.Adam(
        params,
        lr=float(settings.get("lr", 1e-4)),
        betas=tuple(settings.get("betas", (0.5, 0.9))),
        weight_decay=float(settings.get("weight_decay", 0.0)),
    )


@torch.no_grad()
def init_codebooks_from_data(gen: Generator, x: torch.Tensor, seed: int) -> None:
    """Set each codebook to random residual vectors of one batch ``[B, 1, T]`` (avoids dead codes)."""
    g = torch.Generator().manual_seed(seed)
    z = gen.projector(gen.encoder(x)).transpose(1, 2).reshape(-1, gen.params.code_dim)
    residual = z
    for layer in gen.quantizer.codebook.layers:
        pick = torch.randint(0, residual.shape[0], (layer.codebook_size,), generator=g)
        noise = 1e-3 * torch.randn(layer.codebook_size, layer.dim, generator=g).to(residual)
        layer.embed.copy_((residual[pick] + noise).t())
        layer.embed_avg.copy_(layer.embed)
        layer.cluster_size.fill_(1.0)
        residual = residual - layer.lookup(layer.indices(residual))


def _freeze(module: nn.Module) -> None:
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)


class Trainer:
    """Runs one recipe; :meth:`run` returns the path of the last checkpoint."""

    def __init__(self, req: TrainRequest) -> None:
        if req.recipe not in RECIPES:
            raise ValueError(f"unknown recipe {req.recipe!r}; known: {', '.join(RECIPES)}")
        self.req = req
        self.cfg = req.cfg
        t = self.cfg.train
        self.seed = t.seed if req.seed is None else req.seed
        self.device = torch.device(req.device)
        torch.manual_seed(self.seed)
        self.adversarial = req.recipe != "autoencoder"
        want = "vocoder" if req.recipe == "vocoder" else "autoencoder"
        if self.cfg.kind != want:
            raise ValueError(
                f"recipe {req.recipe} needs a {want} config (got model_type of a {self.cfg.kind})"
            )
        self.model = build_model(self.cfg).to(self.device)
        self.analyzer: Generator | None = None
        self.steps = 0
        self.disc = Discriminator(t.discriminator_params).to(self.device) if self.adversarial else None
        self.mel = MelLoss(t.mel_loss_params).to(self.device)
        self.batch_size = req.batch_size or t.batch_size
        self.length = t.adv_batch_length if self.adversarial else t.batch_length
        self.sampler = CropSampler(req.data, self.cfg.sampling_rate, self.seed)
        self._setup_recipe()
        self.opt_g = _adam(
            [p for p in self.model.parameters() if p.requires_grad], t.generator_optimizer_params
        )
        self.opt_d = _adam(self.disc.parameters(), t.discriminator_optimizer_params) if self.disc else None
        self._resume()

    def _setup_recipe(self) -> None:
        req = self.req
        if req.recipe == "autoencoder-gan":
            if req.init is None and latest_checkpoint(req.out) is None:
                raise ValueError(
                    "autoencoder-gan needs --init STAGE1_CHECKPOINT (or a run to resume in --out)"
                )
            if req.init is not None:
                ckpt = read_checkpoint(req.init)
                load_generator_state(self.model, ckpt["model"]["generator"], str(req.init))
                self.steps = int(ckpt.get("steps", 0))
            gen = self.model
            assert isinstance(gen, Generator)
            for part in (gen.encoder, gen.projector, gen.quantizer):
                _freeze(part)
        elif req.recipe == "vocoder":
            path = req.analyzer or (Path(self.cfg.analyzer) if self.cfg.analyzer else None)
            if path is None:
                raise ValueError(
                    "vocoder needs --analyzer AUTOENCODER_CHECKPOINT (or analyzer: in the config)"
                )
            acfg = config_for_checkpoint(path)
            analyzer = build_model(acfg)
            load_generator_state(analyzer, read_checkpoint(path)["model"]["generator"], str(path))
            assert isinstance(analyzer, Generator) and isinstance(self.model, Vocoder)
            if analyzer.hop != self.model.hop:
                raise ValueError(f"vocoder hop {self.model.hop} != analyzer hop {analyzer.hop} ({path})")
            self.analyzer = analyzer.to(self.device)
            _freeze(self.analyzer)
            self.cfg.raw["analyzer"] = str(Path(path).resolve())

    @torch.no_grad()
    def _code_statistics(self) -> None:
        """Per-channel mean and std of the quantized codes over the whole training set."""
        assert self.analyzer is not None and isinstance(self.model, Vocoder)
        hop, total, sq, n = self.analyzer.hop, 0.0, 0.0, 0
        for x in self.sampler.audio:
            t = len(x) // hop * hop
            if t == 0:
                continue
            zq, _, _ = self.analyzer.encode(torch.from_numpy(x[:t]).view(1, 1, -1).to(self.device))
            total = total + zq.sum(dim=(0, 2))
            sq = sq + (zq**2).sum(dim=(0, 2))
            n += zq.shape[-1]
        mean = total / n
        std = (sq / n - mean**2).clamp(min=1e-8).sqrt()
        self.model.set_stats(mean, std)

    def _resume(self) -> None:
        last = latest_checkpoint(self.req.out)
        if last is None:
            if self.req.recipe == "vocoder":
                self._code_statistics()
            return
        ckpt = read_checkpoint(last)
        load_generator_state(self.model, ckpt["model"]["generator"], str(last))
        if self.disc is not None and "discriminator" in ckpt["model"]:
            self.disc.load_state_dict(ckpt["model"]["discriminator"])
        opt = ckpt.get("optimizer", {})
        if "generator" in opt:
            self.opt_g.load_state_dict(opt["generator"])
        if self.opt_d is not None and "discriminator" in opt:
            self.opt_d.load_state_dict(opt["discriminator"])
        self.steps = int(ckpt.get("steps", 0))
        self.sampler.reseed(self.seed, self.steps)
        torch.manual_seed(self.seed + self.steps)
        print(f"resuming from {last} (step {self.steps})")

    def _target_steps(self) -> int:
        t = self.cfg.train
        if self.req.steps is not None:
            return self._start + self.req.steps
        return t.adv_train_max_steps if self.req.recipe == "autoencoder-gan" else t.train_max_steps

    def _generate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (output ``[B, 1, T]``, VQ loss)."""
        if self.req.recipe == "vocoder":
            assert self.analyzer is not None
            with torch.no_grad():
                zq, _, _ = self.analyzer.encode(x)
            return self.model(zq), x.new_zeros(())
        gen = self.model
        assert isinstance(gen, Generator)
        if self.req.recipe == "autoencoder-gan":
            with torch.no_grad():
                zq, _, _ = gen.encode(x)
            return gen.decoder(zq), x.new_zeros(())
        y, _, vq = gen(x)
        return y, vq.sum()

    def step(self) -> dict[str, float]:
        """One optimisation step on a fresh batch; returns the losses."""
        t = self.cfg.train
        hop = self.model.hop
        x = self.sampler.batch(self.batch_size, self.length // hop * hop).to(self.device)
        if self.steps == 0 and self.req.recipe == "autoencoder" and t.codebook_init == "data":
            assert isinstance(self.model, Generator)
            init_codebooks_from_data(self.model, x, self.seed)
        self.model.train()
        if isinstance(self.model, Generator) and self.req.recipe == "autoencoder-gan":
            for part in (self.model.encoder, self.model.projector, self.model.quantizer):
                part.eval()
        y, vq = self._generate(x)
        mel = self.mel(y, x)
        loss = t.lambda_mel_loss * mel + t.lambda_vq_loss * vq
        logs = {"mel": mel.item(), "vq": vq.item()}
        real: list[list[torch.Tensor]] = []
        if self.disc is not None:
            real = self.disc(x)  # kept for the discriminator update below
            fake = self.disc(y)
            adv = generator_adversarial_loss(fake)
            fm = feature_matching_loss(fake, real)  # real features are detached inside
            loss = loss + t.lambda_adv * adv + t.lambda_feat_match * fm
            logs.update(adv=adv.item(), fm=fm.item())
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        if self.disc is not None and self.opt_d is not None:
            self.opt_d.zero_grad(set_to_none=True)  # drop what the generator loss left on D
            d_loss = discriminator_loss(real, self.disc(y.detach()))
            d_loss.backward()
            self.opt_d.step()
            logs["disc"] = d_loss.item()
        logs["loss"] = loss.item()
        self.steps += 1
        return logs

    def save(self) -> Path:
        path = self.req.out / f"checkpoint-{self.steps}steps.pkl"
        opt = {"generator": self.opt_g.state_dict()}
        if self.opt_d is not None:
            opt["discriminator"] = self.opt_d.state_dict()
        save_checkpoint(path, self.cfg, self.model, self.disc, opt, {}, steps=self.steps)
        return path

    def run(self) -> Path:
        """Train to the target step count, logging and checkpointing; returns the last checkpoint."""
        self._start = self.steps
        target = self._target_steps()
        t = self.cfg.train
        out = self.req.out
        out.mkdir(parents=True, exist_ok=True)
        csv_path = out / "train_log.csv"
        new_csv = not csv_path.exists()
        fields = ["step", "time", "loss", "mel", "vq", "adv", "fm", "disc"]
        last = latest_checkpoint(out)
        t0 = time.time()
        with (
            open(out / "train_log.jsonl", "a", encoding="utf-8") as jsonl,
            open(csv_path, "a", newline="", encoding="utf-8") as csv_file,
            tqdm(
                total=target, initial=self.steps, disable=not self.req.progress, desc=self.req.recipe
            ) as bar,
        ):
            writer = csv.DictWriter(csv_file, fieldnames=fields, extrasaction="ignore")
            if new_csv:
                writer.writeheader()
            while self.steps < target:
                logs = self.step()
                bar.update(1)
                bar.set_postfix(mel=f"{logs['mel']:.3f}")
                if self.steps % t.log_interval_steps == 0 or self.steps == target:
                    row = {"step": self.steps, "time": round(time.time() - t0, 2), **logs}
                    jsonl.write(json.dumps(row) + "\n")
                    jsonl.flush()
                    writer.writerow(row)
                    csv_file.flush()
                if self.steps % t.save_interval_steps == 0 or self.steps == target:
                    last = self.save()
        if last is None:
            last = self.save()
        return last
