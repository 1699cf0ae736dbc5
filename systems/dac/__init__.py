"""The Descript Audio Codec written for this suite: loads the released ``weights.pth`` files strictly.

Submodules: ``model`` (encoder, factorised residual VQ, decoder, presets), ``checkpoint`` (file names,
URLs, loading from the metadata the files carry), ``system`` (the ``dac_44k``, ``dac_24k`` and ``dac_16k``
systems). Importing this package does not import torch.
"""
