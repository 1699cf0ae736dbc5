"""AudioDec (Wu et al., ICASSP 2023) written for this suite.

Submodules: ``layers`` (causal convs with ``pad_buffer``), ``generator``, ``quantizer``, ``vocoder``,
``discriminator``, ``config`` (the ``config.yml`` schema), ``checkpoint`` (official layout, cache),
``weights`` (which files each system uses), ``codec`` (batched/streaming coding), ``system`` (the
``symad``, ``audiodec_stage1`` and ``audiodec`` systems), ``train``/``train_cli`` (``bench train``).
Importing this package does not import torch.
"""
