"""Every released file the suite can fetch: URL(s), size, SHA-256, licence, and who uses it.

Each value says where it was read, so that a reviewer can check it against the publisher:

* a full ``sha256`` is the publisher's where one is published (Whisper puts it in the URL path), else one
  recorded by another well-kept downloader of the same file (torchaudio's dataset classes);
* ``sha256_prefix`` is a published prefix (EnCodec's file names carry the first 8 hex digits, which
  ``torch.hub`` checks); the full hash is recorded at the first download;
* ``None`` means nothing is published: the file is verified by size where a size is known, and the hash
  observed at the first download is recorded in the cache (with a warning) and checked on every later use.

Nothing here is downloaded at import. :mod:`bench.downloads.cache` does the fetching.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from bench.errors import UsageError

CC_BY_NC = "CC BY-NC 4.0"
CC_BY = "CC BY 4.0"
MIT = "MIT"


@dataclass(frozen=True)
class Entry:
    """One released file.

    Attributes:
        name: the registry name (``bench download NAME``, ``resolve(NAME)``).
        filename: the file's name in the cache and on a mirror (``MIRROR/<filename>``); unique.
        urls: where the publisher serves it, first tried first.
        sha256: the full SHA-256, or None (see the module docstring).
        sha256_prefix: a published prefix when only that is published (EnCodec), else None.
        size: bytes, or None when no publisher states it.
        source: where ``sha256``/``sha256_prefix``/``urls`` were read (package file or release page).
        licence: the licence of the file's content.
        licence_url: where the licence is stated.
        notice: shown before the first download (non-commercial licences), "" for none.
        used_by: systems, metrics or corpora that need it.
        archive: "zip" or "tar.gz" when the file is unpacked into a folder (``resolve`` returns the folder).
        description: one line for ``bench weights``.
    """

    name: str
    filename: str
    urls: tuple[str, ...]
    sha256: str | None
    source: str
    licence: str
    licence_url: str
    used_by: tuple[str, ...]
    description: str
    sha256_prefix: str | None = None
    size: int | None = None
    notice: str = ""
    archive: str | None = None


def _nc_notice(what: str, url: str) -> str:
    return (f"{what} are released under {CC_BY_NC} ({url}): non-commercial use only, with attribution. "
            "Downloading them means accepting these terms.")


_ENCODEC = "https://dl.fbaipublicfiles.com/encodec/v0/"
_ENCODEC_SRC = ("encodec 0.1.1, encodec/model.py: ROOT_URL and the checkpoint names; the 8 hex digits after '-' "
                "are the sha256 prefix torch.hub checks (check_hash=True in encodec/utils.py)")
_ENCODEC_LICENCE = "https://github.com/facebookresearch/encodec/blob/main/LICENSE_weights"
_DAC = "https://github.com/descriptinc/descript-audio-codec/releases/download/"
_DAC_SRC = ("descript-audio-codec 1.0.0, dac/utils/__init__.py download(): release tags and file names; "
            "no checksum is published (recorded at first download)")
_DAC_LICENCE = "https://github.com/descriptinc/descript-audio-codec/blob/main/LICENSE"
_WHISPER = "https://openaipublic.azureedge.net/main/whisper/models/"
_WHISPER_SRC = ("openai-whisper, whisper/__init__.py _MODELS: the URL path's second-last part is the file's "
                "sha256 (checked by whisper._download)")
_WHISPER_LICENCE = "https://github.com/openai/whisper/blob/main/LICENSE"
#: Whisper size -> the sha256 in its URL (openai-whisper whisper/__init__.py _MODELS)
_WHISPER_SHA256 = {
    "tiny.en": "d3dd57d32accea0b295c96e26691aa14d8822fac7d9d27d5dc00b4ca2826dd03",
    "tiny": "65147644a518d12f04e32d6f3b26facc3f8dd46e5390956a9424a650c0ce22b9",
    "base.en": "25a8566e1d0c1e2231d1c762132cd20e0f96a85d16145c3a00adf5d1ac670ead",
    "base": "ed3a0b6b1c0edf879ad9b11b1af5a0e6ab5db9205f891f668f8b0e6c6326e34e",
    "small.en": "f953ad0fd29cacd07d5a9eda5624af0f6bcf2258be67c92b79389873d91e0872",
    "small": "9ecf779972d90ba49c06d968637d720dd632c55bbf19d441fb42bf17a411e794",
    "medium.en": "d7440d1dc186f76616474e0ff0b3b6b879abc9d1a4926b7adfa41db2d497ab4f",
    "medium": "345ae4da62f9b3d59415adc60127b97c714f32e89e936602e85993674d08dcb1",
    "large-v2": "81f7c96c852ee8fc832187b0132e569d6c3065a3252ed18e56effd0b6a73e524",
    "large-v3": "e5b1a55b89c1367dacf97e3e19bfd829a01529dbfdeefa8caeb59b3f1b81dadb",
}


def _entries() -> list[Entry]:
    out = [
        Entry("encodec-24khz", "encodec_24khz-d7cc33bc.th", (_ENCODEC + "encodec_24khz-d7cc33bc.th",), None,
              _ENCODEC_SRC, CC_BY_NC, _ENCODEC_LICENCE, ("encodec",), "EnCodec 24 kHz weights",
              sha256_prefix="d7cc33bc", notice=_nc_notice("The EnCodec weights", _ENCODEC_LICENCE)),
        Entry("encodec-48khz", "encodec_48khz-7e698e3e.th", (_ENCODEC + "encodec_48khz-7e698e3e.th",), None,
              _ENCODEC_SRC, CC_BY_NC, _ENCODEC_LICENCE, ("encodec_48k",), "EnCodec 48 kHz weights",
              sha256_prefix="7e698e3e", notice=_nc_notice("The EnCodec weights", _ENCODEC_LICENCE)),
        Entry("dac-44khz", "weights_44khz_8kbps_0.0.1.pth", (_DAC + "0.0.1/weights.pth",), None, _DAC_SRC, MIT,
              _DAC_LICENCE, ("dac_44k",), "DAC 44.1 kHz 8 kbps weights (release 0.0.1)"),
        Entry("dac-24khz", "weights_24khz_8kbps_0.0.4.pth", (_DAC + "0.0.4/weights_24khz.pth",), None, _DAC_SRC,
              MIT, _DAC_LICENCE, ("dac_24k",), "DAC 24 kHz 8 kbps weights (release 0.0.4)"),
        Entry("dac-16khz", "weights_16khz_8kbps_0.0.5.pth", (_DAC + "0.0.5/weights_16khz.pth",), None, _DAC_SRC,
              MIT, _DAC_LICENCE, ("dac_16k",), "DAC 16 kHz 8 kbps weights (release 0.0.5)"),
        Entry("audiodec-exp", "audiodec_exp_pretrain_models_v02.zip",
              ("https://github.com/facebookresearch/AudioDec/releases/download/pretrain_models_v02/exp.zip",),
              None, "AudioDec README ('download the whole exp folder') and its GitHub release pretrain_models_v02 "
              "(asset exp.zip); no checksum is published (recorded at first download)",
              CC_BY_NC, "https://github.com/facebookresearch/AudioDec/blob/main/LICENSE",
              ("symad", "audiodec_stage1", "audiodec", "scoredec"),
              "official AudioDec exp/ folder: symAD, AudioDec vocoders (unpacked)", archive="zip",
              notice=_nc_notice("The AudioDec checkpoints", "https://github.com/facebookresearch/AudioDec")),
        Entry("vctk", "VCTK-Corpus-0.92.zip",
              ("https://datashare.ed.ac.uk/bitstream/handle/10283/3443/VCTK-Corpus-0.92.zip",
               "https://datashare.is.ed.ac.uk/bitstream/handle/10283/3443/VCTK-Corpus-0.92.zip"),
              "f96258be9fdc2cbff6559541aae7ea4f59df3fcaf5cf963aae5ca647357e359c",
              "torchaudio, torchaudio/datasets/vctk.py (VCTK_092) _CHECKSUMS; the DataShare page "
              "https://datashare.ed.ac.uk/handle/10283/3443 publishes the md5 8a6ba2946b36fcbef0212cad601f4bfa",
              CC_BY, "https://datashare.ed.ac.uk/handle/10283/3443", ("--data vctk",),
              "CSTR VCTK Corpus 0.92, 48 kHz, 110 speakers with transcripts (unpacked; about 11 GB)",
              archive="zip"),
        Entry("librispeech-test-clean", "librispeech-test-clean.tar.gz",
              ("https://www.openslr.org/resources/12/test-clean.tar.gz",
               "https://us.openslr.org/resources/12/test-clean.tar.gz"),
              "39fde525e59672dc6d1551919b1478f724438a95aa55f874b576be21967e6c23",
              "torchaudio, torchaudio/datasets/librispeech.py _CHECKSUMS['test-clean.tar.gz']; OpenSLR SLR12 "
              "(https://www.openslr.org/12) publishes the md5 32fa31d27d2e1cad72775fee3f4849a9",
              CC_BY, "https://www.openslr.org/12", ("--data librispeech:test-clean",),
              "LibriSpeech test-clean, 16 kHz FLAC with transcripts (unpacked)", archive="tar.gz"),
    ]
    for size, sha in _WHISPER_SHA256.items():
        fname = f"{size}.pt"
        out.append(Entry(f"whisper-{size}", f"whisper-{fname}", (f"{_WHISPER}{sha}/{fname}",), sha, _WHISPER_SRC,
                         MIT, _WHISPER_LICENCE, ("wer", "cer"), f"Whisper {size} (speech recognition for WER/CER)"))
    # Speaker similarity: Resemblyzer's encoder (pretrained.pt) ships inside its wheel; nothing to download.
    return out


#: name -> entry, in listing order
ENTRIES: dict[str, Entry] = {e.name: e for e in _entries()}
#: LibriSpeech subsets -> entry names (``--data librispeech:SUBSET``)
LIBRISPEECH_SUBSETS = {"test-clean": "librispeech-test-clean"}


def get_entry(name: str) -> Entry:
    """The entry called ``name``.

    Raises:
        UsageError: unknown name, with close matches.
    """
    if name in ENTRIES:
        return ENTRIES[name]
    close = difflib.get_close_matches(name, list(ENTRIES), n=3)
    hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(ENTRIES)}"
    raise UsageError(f"no downloadable file called {name!r}; {hint}")


def _check_unique() -> None:
    names = [e.filename for e in ENTRIES.values()]
    if len(set(names)) != len(names):
        raise AssertionError("download entries must have unique file names (they share a mirror folder)")


_check_unique()
