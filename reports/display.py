"""How systems and metrics are shown: one display name and one colour per system, one name per metric.

Every table, plot, the demo page and summary.tex take their names and colours from here, so that a system
reads and looks the same in every part of a run's report (``opus@6k`` is "Opus 6 kbps" in the table, the bar
chart and the rate-quality curve, in the same colour). The ids stay in files meant for programs
(results.csv, ratequality.csv) and in the pages' ``data-system`` attributes.

Names: registered systems have theirs below; a rate option (``@6k``) or, for codecs whose name carries their
rate, run.json's ``nominal_kbps`` adds "6 kbps"; post-filters join with "+" ("Opus+SPF 12 kbps");
``files:NAME`` shows NAME; anything else shows its id. Colours: one per codec family (the members of a family,
``opus@6k`` and ``opus@24k``, share it, as they share a rate-quality curve), in the order of first appearance;
the reference and the anchors are greys.
"""

from __future__ import annotations

import re

from reports.roles import SYSTEM, family_of, role
from reports.rundata import BITRATE, Run

#: display names of the registered systems and compositions
SYSTEM_NAMES = {
    "reference": "Reference", "natural": "Natural", "anchor35": "Anchor 3.5 kHz", "anchor70": "Anchor 7 kHz",
    "opus": "Opus", "lc3": "LC3", "symad": "symAD", "audiodec_stage1": "AudioDec stage 1", "audiodec": "AudioDec",
    "scoredec": "ScoreDec", "opus_spf": "Opus+SPF", "encodec": "EnCodec", "encodec_48k": "EnCodec 48 kHz",
    "dac_44k": "DAC 44.1 kHz", "dac_24k": "DAC 24 kHz", "dac_16k": "DAC 16 kHz",
}
#: display names of the registered post-filters
POSTFILTER_NAMES = {"spf": "SPF"}
#: systems whose name carries their bitrate even without an ``@`` option ("Opus 24 kbps")
RATE_IN_NAME = frozenset({"opus", "lc3", "encodec", "encodec_48k", "dac_44k", "dac_24k", "dac_16k", "files"})
#: display names of the registered metrics (and the achieved bitrate)
METRIC_NAMES = {
    "pesq_wb": "PESQ-WB", "pesq_nb": "PESQ-NB", "stoi": "STOI", "estoi": "ESTOI", "visqol_speech": "ViSQOL",
    "visqol_audio": "ViSQOL (audio)", "si_sdr": "SI-SDR", "snr": "SNR", "seg_snr": "SegSNR",
    "phase_distance": "Phase distance", "lsd": "LSD", "mel_distance": "Mel distance", "mcd": "MCD",
    "dnsmos_sig": "DNSMOS SIG", "dnsmos_bak": "DNSMOS BAK", "dnsmos_ovrl": "DNSMOS OVRL",
    "dnsmos_p808": "DNSMOS P.808", "distillmos": "DistillMOS", "plcmos": "PLCMOS", "speaker_sim": "Speaker sim.",
    "f0_rmse": "F0 RMSE", "f0_corr": "F0 corr.", "vuv_error": "V/UV error", "mcd_espnet": "MCD (ESPnet)",
    "wer": "WER", "cer": "CER", BITRATE: "Bitrate",
}
#: colours of the systems under test (matplotlib's tab10, distinguishable for the common colour-vision deficiencies
#: in small sets) without its grey, which is the reference's and the anchors'
PALETTE = [(0.122, 0.467, 0.706), (1.0, 0.498, 0.055), (0.173, 0.627, 0.173), (0.839, 0.153, 0.157),
           (0.580, 0.404, 0.741), (0.549, 0.337, 0.294), (0.890, 0.467, 0.761), (0.737, 0.741, 0.133),
           (0.090, 0.745, 0.812)]
#: colours of the reference and the anchors, in order of appearance (RGB)
GREYS = [(0.25, 0.25, 0.25), (0.55, 0.55, 0.55), (0.72, 0.72, 0.72), (0.4, 0.4, 0.4)]

#: one stage of a system id: kind, then ``:label``, ``@rate`` and ``[options]``, each optional
_STAGE = re.compile(r"^(?P<kind>[^:@\[]+)(?::(?P<label>[^@\[]*))?(?:@(?P<rate>[^\[]*))?(?P<opts>\[.*\])?$")


def _rate_text(rate: str) -> str:
    """``"6k"`` -> ``"6 kbps"``; other values as ``@value``."""
    try:
        return f"{float(rate.removesuffix('k')):g} kbps" if rate.endswith("k") else f"@{rate}"
    except ValueError:
        return f"@{rate}"


def system_name(system: str, nominal_kbps: object = None) -> str:
    """The display name of a system id (``nominal_kbps``: run.json's, for codecs whose name carries it).

    ``"audiodec_stage1"`` -> "AudioDec stage 1", ``"opus@6k"`` -> "Opus 6 kbps", ``"opus@12k+spf"`` ->
    "Opus+SPF 12 kbps", ``"files:mine@6k"`` -> "mine 6 kbps", ``"my_codec"`` -> "my_codec"."""
    parts = [system] if system in SYSTEM_NAMES else system.split("+")
    filters, filter_opts = [], []
    while len(parts) > 1 and (pf := _STAGE.match(parts[-1])) and pf["kind"] in POSTFILTER_NAMES:
        filters.insert(0, POSTFILTER_NAMES[pf["kind"]])
        filter_opts.insert(0, pf["opts"] or "")
        parts.pop()
    head = "+".join(parts)
    m = None if head in SYSTEM_NAMES else _STAGE.match(head)
    kind = head if m is None else m["kind"]
    base = m["label"] if m is not None and m["label"] else SYSTEM_NAMES.get(kind, kind)
    name = "+".join([base, *filters])
    if m is not None and m["rate"]:
        name += " " + _rate_text(m["rate"])
    elif kind in RATE_IN_NAME and isinstance(nominal_kbps, (int, float)) and not isinstance(nominal_kbps, bool):
        name += f" {nominal_kbps:g} kbps"
    opts = [m["opts"] if m is not None else None, *filter_opts]
    return " ".join([name, *(o for o in opts if o)])


def system_names(run: Run, systems: list[str] | None = None) -> dict[str, str]:
    """Display name of each system of ``run`` (or of ``systems``); two ids that would read the same keep their
    id in parentheses, so that no two rows of a table share a name."""
    ids = list(dict.fromkeys([*run.systems, *(systems or [])]))
    names = {s: system_name(s, run.system_info(s).get("nominal_kbps")) for s in ids}
    seen: dict[str, int] = {}
    for text in names.values():
        seen[text] = seen.get(text, 0) + 1
    return {s: (f"{t} ({s})" if seen[t] > 1 and t != s else t) for s, t in names.items()}


def metric_name(metric: str) -> str:
    """The display name of a metric id (``pesq_wb`` -> "PESQ-WB"); unknown ids as they are."""
    return METRIC_NAMES.get(metric, metric)


def system_colours(run: Run) -> dict[str, tuple[float, float, float]]:
    """One colour per system of ``run``: its family's (palette order of first appearance), greys for the
    reference and the anchors. The same for every figure of the run."""
    out: dict[str, tuple[float, float, float]] = {}
    families: list[str] = []
    greys = 0
    for s in run.systems:
        if role(run, s) != SYSTEM:
            out[s] = GREYS[greys % len(GREYS)]
            greys += 1
            continue
        fam = family_of(run, s)
        if fam not in families:
            families.append(fam)
        out[s] = PALETTE[families.index(fam) % len(PALETTE)]
    return out


def system_colour(run: Run, system: str) -> tuple[float, float, float]:
    """The colour of one system (see :func:`system_colours`; the palette's first for a system not in the run)."""
    return system_colours(run).get(system, PALETTE[0])


def css_colour(rgb: tuple[float, float, float]) -> str:
    """``#rrggbb`` of an RGB triple in [0, 1] (the same colour on the HTML pages as in the plots)."""
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb)


__all__ = ["GREYS", "METRIC_NAMES", "PALETTE", "POSTFILTER_NAMES", "RATE_IN_NAME", "SYSTEM_NAMES", "css_colour", "metric_name",
           "system_colour", "system_colours", "system_name", "system_names"]
