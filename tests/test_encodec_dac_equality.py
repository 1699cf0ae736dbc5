"""systems/encodec and systems/dac equal the official packages.

Each official model is built by its own package with seeded random weights and saved in the package's
format (EnCodec: a plain state dict; DAC: ``weights.pth`` written by audiotools' ``BaseModel.save``).
Our system loads that file (strictly) and codes speech from the demo corpus at the model's rate (the rate
the system declares); the package codes the same input with its own ``encode``/``decode``. Codes must be
identical, the decoded audio equal at SNR >= 60 dB, and the bits those of the codes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from official_codecs import StandInCalled, official, seeded_encodec

from bench.audio import fit_length, read_mono
from systems.base import RunSettings

DEMO = Path(__file__).resolve().parents[1] / "bench" / "data" / "demo"
MIN_SNR_DB = 60.0


def speech(name: str, seconds: float, rate: int, offset: float = 0.3) -> np.ndarray:
    """``seconds`` of a demo utterance at ``rate``, from ``offset`` s in (past the leading silence)."""
    x = read_mono(DEMO / f"{name}.flac", rate)
    a = int(offset * rate)
    return x[a : a + int(seconds * rate)].astype(np.float32)


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    noise = float(np.sum((reference.astype(np.float64) - estimate) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(float(np.sum(reference.astype(np.float64) ** 2)) / noise)


def test_stand_ins_fail_loudly():
    """Code that reaches torchaudio through the stand-in raises instead of silently doing nothing."""
    enc = official("encodec")
    with pytest.raises(StandInCalled, match="torchaudio"):
        enc.utils.convert_audio(torch.zeros(1, 100), 24000, 16000, 1)
    with pytest.raises(StandInCalled, match="download"):
        official("dac").utils.download()


@pytest.mark.parametrize(
    ("kind", "preset", "kbps", "lengths_s"),
    [("encodec", "encodec_24khz", 6.0, (1.2, 0.7)), ("encodec_48k", "encodec_48khz", 12.0, (2.1, 1.3))],
)
def test_encodec_system_equals_package(tmp_path, torch_one_thread, kind, preset, kbps, lengths_s):
    from systems.encodec.model import build_model
    from systems.encodec.system import Encodec24k, Encodec48k

    ref = seeded_encodec(preset)
    ref.set_target_bandwidth(kbps)
    path = tmp_path / f"{preset}.th"
    torch.save(ref.state_dict(), path)
    cls = Encodec24k if kind == "encodec" else Encodec48k
    system = cls(RunSettings(checkpoints={kind: path}, batch_size=4), options=cls.Options(kbps=kbps))
    assert sum(p.numel() for p in system.model.parameters()) == sum(p.numel() for p in ref.parameters())
    rate = ref.sample_rate
    assert system.sample_rate == rate  # the system declares the rate it codes at: nothing resampled inside

    inputs = [speech("demo_f_001", lengths_s[0], rate), speech("demo_m_001", lengths_s[1], rate)]
    outs = system.process_batch(inputs, utterance_ids=["f", "m"])  # one batch of two lengths
    for x_in, out in zip(inputs, outs):
        x = torch.from_numpy(x_in)
        n = len(x)
        if ref.segment is None:  # the system codes whole frames (zero-padded)
            x = torch.nn.functional.pad(x, (0, -len(x) % 320))
        x = x[None, None].expand(1, ref.channels, -1)
        with torch.no_grad():
            frames = ref.encode(x)
            y = ref.decode(frames)[0, :, :n].mean(dim=0)
        ours = build_model(preset)
        ours.load_state_dict(ref.state_dict(), strict=True)
        with torch.no_grad():
            segments = ours.encode(x, ours.codebooks_for(kbps))
        assert len(segments) == len(frames)
        for seg, (codes, _) in zip(segments, frames):
            assert torch.equal(seg.codes, codes)
        assert out.audio.shape == x_in.shape
        assert snr_db(y.numpy(), out.audio) >= MIN_SNR_DB
        side_bits = 32 * len(frames) if ref.normalize else 0
        assert out.bits == sum(c.numel() for c, _ in frames) * 10 + side_bits
    if kind == "encodec_48k":
        assert outs[0].info["segments"] == 3  # 2.1 s: segments start at 0, 0.99 and 1.98 s


def test_encodec_checksum_of_release_name(tmp_path):
    """A file named like the release but with other content is refused, naming the file and the URL."""
    from systems.encodec.checkpoint import FILES, load_model

    path = tmp_path / FILES["encodec_24khz"]
    torch.save({"x": torch.zeros(1)}, path)
    with pytest.raises(ValueError, match=r"encodec_24khz-d7cc33bc\.th.*does not match.*dl\.fbaipublicfiles"):
        load_model(path, "encodec_24khz")


def _official_dac(key: str):
    """The package's DAC of a released configuration, seeded (its own random init)."""
    from systems.dac.model import PRESETS

    kwargs = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(PRESETS[key]).items()}
    torch.manual_seed(0)
    return official("dac").DAC(**kwargs).eval()


@pytest.mark.parametrize("key", ["44khz_8kbps", "24khz_8kbps", "16khz_8kbps", "44khz_16kbps"])
def test_dac_parameter_counts(key):
    """Every released size: same parameter count and the same state-dict names and shapes (built on meta)."""
    from systems.dac.model import DAC, PRESETS

    with torch.device("meta"):
        ref = _official_dac(key)
        ours = DAC(PRESETS[key])
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in ref.parameters())
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in ref.state_dict().items()}


@pytest.mark.parametrize(
    ("kind", "key", "codebooks"),
    [("dac_44k", "44khz_8kbps", None), ("dac_24k", "24khz_8kbps", 8), ("dac_16k", "16khz_8kbps", None)],
)
def test_dac_system_equals_package(tmp_path, torch_one_thread, kind, key, codebooks):
    from systems import SYSTEMS

    ref = _official_dac(key)
    path = Path(ref.save(str(tmp_path / "weights.pth"), package=False))  # the package's own weights.pth
    cls = SYSTEMS.get(kind)
    system = cls(RunSettings(checkpoints={kind: path}, batch_size=4), options=cls.Options(codebooks=codebooks))
    n_q = codebooks or ref.n_codebooks
    rate = ref.sample_rate
    assert system.sample_rate == rate
    inputs = [speech("demo_f_002", 0.3, rate), speech("demo_m_002", 0.22, rate), speech("demo_f_003", 0.3, rate)]
    outs = system.process_batch(inputs, utterance_ids=["a", "b", "c"])
    for x_in, out in zip(inputs, outs):
        x = torch.from_numpy(x_in)[None, None]
        with torch.no_grad():
            z, codes, *_ = ref.encode(ref.preprocess(x, ref.sample_rate), n_q)
            y = ref.decode(z)[0, 0, : x.shape[-1]]
            ours = system.model.encode(x, n_q)
        assert torch.equal(ours, codes)
        assert out.audio.shape == x_in.shape
        # the decoder may return a few samples less than the input: the system zero-pads to the input length
        assert snr_db(fit_length(y.numpy(), len(x_in)), out.audio) >= MIN_SNR_DB
        assert out.bits == codes.numel() * 10
