"""bplit: backpropagation, derived in a literate book and checked against this library.

The core is :class:`Network` (batch-first, one row per sample); every chapter of the
book derives its formulas with SymPy and compares them with what this package
computes.
"""

from . import optim
from ._validation import DtypeError
from .activations import (
    ACTIVATIONS,
    Activation,
    get_activation,
    log_softmax,
    relu,
    relu_activation,
    sigmoid,
    softmax,
)
from .contract import Model, Optimizer
from .counting import count_forward_passes
from .gradcheck import gradcheck, numerical_gradients, relative_error
from .graph import GraphGradients, GraphNetwork, GraphTrace, graph_gradcheck, graph_numerical_gradients
from .io import load, load_checkpoint, save
from .losses import LOSSES, REDUCTIONS, Loss, get_loss
from .network import INITIALIZERS, Network
from .results import Gradients, Trace
from .training import History, accuracy

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "LOSSES",
    "REDUCTIONS",
    "Activation",
    "DtypeError",
    "Gradients",
    "GraphGradients",
    "GraphNetwork",
    "GraphTrace",
    "History",
    "Loss",
    "Model",
    "Network",
    "Optimizer",
    "Trace",
    "accuracy",
    "count_forward_passes",
    "get_activation",
    "get_loss",
    "load",
    "load_checkpoint",
    "gradcheck",
    "graph_gradcheck",
    "graph_numerical_gradients",
    "log_softmax",
    "numerical_gradients",
    "optim",
    "relative_error",
    "relu",
    "relu_activation",
    "save",
    "sigmoid",
    "softmax",
]
