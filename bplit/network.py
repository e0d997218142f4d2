r""":class:`bplit.Network`: the core network (:mod:`bplit.network_core`) with ``fit`` and ``save``.

The layers of the library run one way: the core computes (forward pass, BP1-BP4, the
step), the training loop (:mod:`bplit.training`) and the file writer sit above it, and
this class puts the three together. Nothing below imports this module.
"""

from __future__ import annotations

import os

from ._deprecated import renamed_function
from ._npz_writer import write_network
from .network_core import INITIALIZERS, NetworkCore, weight_and_bias_gradients
from .results import Gradients, Trace
from .training import History, Trainable, accuracy

__all__ = ["Network", "Trace", "Gradients", "History", "INITIALIZERS", "accuracy"]
__all__ += ["weight_and_bias_gradients"]

# the old name, deprecated
bp3_bp4 = renamed_function(
    weight_and_bias_gradients, "bp3_bp4", " (it returns BP4, BP3)", module="bplit.network"
)


class Network(NetworkCore, Trainable):
    __doc__ = NetworkCore.__doc__

    def save(self, path: str | os.PathLike) -> None:
        """Write the parameters and configuration to an ``.npz`` file (no pickle); see :func:`bplit.load`."""
        self.check_params()
        write_network(self, path)
