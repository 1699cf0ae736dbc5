"""Streaming (hop-sized chunks with pad_buffer history) equals offline coding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from systems.audiodec.checkpoint import build_model
from systems.audiodec.codec import Codec
from systems.audiodec.generator import Generator
from systems.audiodec.train import init_codebooks_from_data
from systems.audiodec.vocoder import Vocoder
from tests.audiodec_util import speechlike, tiny_config

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _tiny_codec(vocoder: bool) -> Codec:
    torch.manual_seed(0)
    gen = build_model(tiny_config())
    assert isinstance(gen, Generator)
    x = torch.from_numpy(speechlike(1.0, seed=3)).view(1, 1, -1)
    init_codebooks_from_data(gen, x, seed=0)
    gen.eval()
    synth: Generator | Vocoder = gen
    if vocoder:
        synth = build_model(tiny_config("AudioDec_v1_c16_tiny"))  # type: ignore[assignment]
        synth.eval()
    return Codec(gen, synth)


@pytest.mark.parametrize("vocoder", [False, True], ids=["decoder", "vocoder"])
def test_streaming_equals_offline(vocoder: bool) -> None:
    codec = _tiny_codec(vocoder)
    x = torch.from_numpy(np.stack([speechlike(0.4, seed=1), speechlike(0.4, seed=2)])).unsqueeze(1)
    x = x[..., : x.shape[-1] // codec.hop * codec.hop]
    offline = codec.run(x)
    streamed = codec.run(x, streaming=True)
    assert streamed.shape == offline.shape == x.shape
    assert offline.abs().max() > 1e-3  # a real signal, not all zeros
    assert (streamed - offline).abs().max().item() < 1e-4
    # histories are cleared afterwards: a second streaming pass gives the same result
    assert (codec.run(x, streaming=True) - streamed).abs().max().item() < 1e-6


def test_streaming_codes_equal_offline_codes() -> None:
    codec = _tiny_codec(False)
    gen = codec.analyzer
    x = torch.from_numpy(speechlike(0.3, seed=4))[: 14 * codec.hop].view(1, 1, -1)
    with torch.inference_mode():
        _, _, offline = gen.encode(x)
        gen.reset_streams()
        chunks = [gen.stream_encode(x[..., i : i + codec.hop]) for i in range(0, x.shape[-1], codec.hop)]
        gen.reset_streams()
    assert torch.equal(torch.cat(chunks, dim=-1), offline)
    # after a reset the pad buffers are zeros of the official shape again
    assert gen.encoder.conv.pad_buffer.shape == (1, 1, 6) and not gen.encoder.conv.pad_buffer.any()
