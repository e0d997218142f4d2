"""The ``.npz`` file format of a network: parameters plus a JSON configuration, no pickle.

A file holds ``config`` (a JSON string: ``format_version`` and :meth:`Network.config`),
``weights_0 … weights_{L-1}`` and ``biases_0 … biases_{L-1}``. Written here, read and
checked by :func:`bplit.io.load`.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

FORMAT_VERSION = 1


def write_network(net: Any, path: str | os.PathLike) -> None:
    """Write ``net`` (a checked :class:`~bplit.Network`) to ``path`` (``.npz``; NumPy adds the suffix if missing)."""
    config = {"format_version": FORMAT_VERSION, **net.config()}
    arrays = {f"weights_{l}": w for l, w in enumerate(net.weights)}
    arrays.update({f"biases_{l}": b for l, b in enumerate(net.biases)})
    np.savez(path, config=np.array(json.dumps(config)), **arrays)
