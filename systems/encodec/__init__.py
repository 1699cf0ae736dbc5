"""EnCodec (Meta, 2022) written for this suite: loads the released 24 kHz and 48 kHz state dicts strictly.

Submodules: ``layers`` (padded convolutions, LSTM, residual block), ``seanet`` (encoder, decoder),
``quantizer`` (residual VQ), ``model`` (presets, segments, normalisation, overlap-add), ``checkpoint``
(file names, URLs, checksum, loading), ``system`` (the ``encodec`` and ``encodec_48k`` systems).
Importing this package does not import torch.
"""
