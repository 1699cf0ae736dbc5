"""GPU path on CPU: a batching system gets utterances of similar length and its batched output equals
its unbatched output; ``--amp`` reaches the systems and is recorded as a value-changing setting."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, bench_cmd, install_plugin

from bench.runfolder.wav import read_run_wav
from bench.system_stage import length_batches

#: a two-layer conv "codec" that pads a batch to its longest item and masks the padding between layers
PLUGIN = '''
import numpy as np
import torch

from systems.base import System, SystemOutput


class TinyBatcher(System):
    kind = "tinybatch"
    description = "two conv layers, batched with padding masks (test double)"

    def __init__(self, settings, name=None, options=None):
        super().__init__(settings, name, options)
        g = torch.Generator().manual_seed(0)
        self.w1, self.b1 = torch.randn(4, 1, 9, generator=g) * 0.3, torch.randn(4, generator=g) * 0.1
        self.w2, self.b2 = torch.randn(1, 4, 5, generator=g) * 0.3, torch.randn(1, generator=g) * 0.1

    def process(self, audio, *, utterance_id):
        return self.process_batch([audio], utterance_ids=[utterance_id])[0]

    def process_batch(self, audios, *, utterance_ids):
        lengths = torch.tensor([len(a) for a in audios])
        x = torch.zeros(len(audios), 1, int(lengths.max()))
        for i, a in enumerate(audios):
            x[i, 0, : len(a)] = torch.from_numpy(a)
        mask = (torch.arange(x.shape[-1])[None, None, :] < lengths[:, None, None]).float()
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.settings.amp):
            h = torch.tanh(torch.nn.functional.conv1d(x, self.w1, self.b1, padding=4)) * mask
            y = torch.nn.functional.conv1d(h, self.w2, self.b2, padding=2).float()
        info = {"batch": utterance_ids, "padded_to": int(lengths.max()), "amp": self.settings.amp}
        return [SystemOutput(audio=y[i, 0, : len(a)].numpy().copy(), info=info) for i, a in enumerate(audios)]
'''


def install_tinybatch(site: Path) -> dict[str, str]:
    """Make ``tinybatch`` an entry-point plugin in ``site``; returns the environment that sees it."""
    return install_plugin(site, "tinybatch", PLUGIN, "[codec_bench.systems]\ntinybatch = tinybatch:TinyBatcher\n")


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return install_tinybatch(tmp_path_factory.mktemp("site"))


def _run(env: dict[str, str], out: Path, *extra: str) -> None:
    r = subprocess.run(bench_cmd("run", "--systems", "tinybatch", "--data", "demo", "--metrics", "si_sdr",
                                 "--workers", "1", "--no-report", "--quiet", "--out", str(out), *extra),
                       capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)
    assert r.returncode == 0, r.stderr


def test_batched_equals_unbatched_and_batches_hold_similar_lengths(plugin_env, tmp_path):
    _run(plugin_env, tmp_path / "b4", "--batch-size", "4")
    _run(plugin_env, tmp_path / "b1", "--batch-size", "1")
    outs = sorted((tmp_path / "b4" / "audio" / "tinybatch").glob("*.wav"))
    assert len(outs) == 10
    for f in outs:
        assert np.array_equal(read_run_wav(f)[0], read_run_wav(tmp_path / "b1" / "audio" / "tinybatch" / f.name)[0])
    lengths = {f.stem: len(read_run_wav(tmp_path / "b4" / "reference" / f.name)[0]) for f in outs}
    batches = {tuple(json.loads(f.with_suffix(".json").read_text())["info"]["batch"]) for f in outs}
    assert sorted(len(b) for b in batches) == [2, 4, 4]
    assert any(max(lengths[u] for u in b) > min(lengths[u] for u in b) for b in batches)  # real padding
    by_length = sorted(lengths, key=lambda u: (lengths[u], u))
    assert sorted(batches, key=lambda b: lengths[b[0]]) == [tuple(by_length[k:k + 4]) for k in (0, 4, 8)]


def test_amp_reaches_the_system_and_is_a_value_setting(plugin_env, tmp_path):
    _run(plugin_env, tmp_path / "amp", "--limit", "2", "--amp")
    side = json.loads(next((tmp_path / "amp" / "audio" / "tinybatch").glob("*.json")).read_text())
    assert side["info"]["amp"] is True
    cfg = json.loads((tmp_path / "amp" / "run.json").read_text())["config"]
    assert cfg["value_settings"]["settings"]["amp"] is True


def test_length_batches_sort_by_length_then_id():
    items = [("c", "c.wav", 30), ("a", "a.wav", 10), ("b", "b.wav", 30), ("d", "d.wav", 20), ("e", "e.wav", 5)]
    batches = length_batches(items, 2)
    assert [b.ids for b in batches] == [("e", "a"), ("d", "b"), ("c",)]
    assert batches[1].reference_paths == ("d.wav", "b.wav")
    assert [b.ids for b in length_batches(items, 0)] == [("e",), ("a",), ("d",), ("b",), ("c",)]
