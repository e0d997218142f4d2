r"""Source 002's Algorithms 1-5, line by line, on one run at a time.

Read these beside the memo's pseudo-code; "line k" is the line of the algorithm. Two
corrections (see the chapter's Errata): the bias is b_i (the memo writes d_i in
Algorithms 3 and 5), and v_i = f_i'(x_i) is only taken for units that have an
activation function (Algorithm 4 also takes it for the input units). The state of the
algorithms lives on the network: ``x``, ``y``, ``p``, ``v`` (per unit) and ``dw``,
``db`` (:math:`\Delta w_{ij}`, :math:`\Delta b_i`). :mod:`bplit.graph_vectorized`
computes the same numbers for a whole batch at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from . import _validation as V
from ._validation import guarded as _guarded
from .losses import reduction_factor

__all__ = ["GraphAlgorithms"]

Array = np.ndarray


def _scalar(fn: Callable[[Array], Array], t: float) -> float:
    """Evaluate an array function of the core (an activation or its derivative) at one number."""
    return float(fn(np.array([t], dtype=np.float64))[0])


class GraphAlgorithms:
    """Algorithms 1-5 of source 002 as methods (a base of :class:`~bplit.GraphNetwork`)."""

    def propagate(self, x_star: Sequence[float]) -> None:
        """Propagate (eqs. 1-2) for one run: fills ``self.x`` and ``self.y``.

        ``x_star`` has length :math:`|\\mathbb{U}_1|` (values in the order of ``layers[0]``).
        """
        x, y, w, b, S, f = self.x, self.y, self.w, self.b, self.S, self.f
        for k, i in enumerate(self.layers[0]):  # i in U_1
            x[i] = float(x_star[k])  # eq. (1): given
            y[i] = x[i]  # eq. (2): y_i = x_i
        for layer in self.layers[1:]:  # U_2, ..., U_N, in order
            for i in layer:
                x[i] = sum(w[i, j] * y[j] for j in S[i]) + b[i]  # eq. (1)
                y[i] = _scalar(f[i].value, x[i])  # eq. (2): y_i = f_i(x_i)

    @_guarded
    def train_nn(self, X: Array, Y: Array, eta: float) -> float:
        r"""Algorithm 1, TrainNN: one gradient-descent update on the mini-batch ``(X, Y)``.

        .. math::
            w_{ij} \leftarrow w_{ij} - \eta \frac{\partial E_{\mathbb{L}}}{\partial w_{ij}}, \qquad
            b_i \leftarrow b_i - \eta \frac{\partial E_{\mathbb{L}}}{\partial b_i}

        Parameters
        ----------
        X : ndarray of shape (m, n_in)
            The inputs :math:`\boldsymbol{x}^{*(l)}`, one row per run :math:`l \in \mathbb{L}`.
        Y : ndarray of shape (m, n_out)
            The desired outputs :math:`\boldsymbol{y}^{*(l)}`.
        eta : float
            The learning rate :math:`\eta > 0`.

        Returns
        -------
        float
            :math:`E_{\mathbb{L}}` before the update.
        """
        eta = V.positive_float("eta", eta)
        X, Y = self.check_xy(X, Y)
        E_L = 0.0
        self.init_grad()  # line 1: InitGrad
        weight = reduction_factor(self.reduction, X.shape[0])
        for l in range(X.shape[0]):  # line 2: for l in L
            E_L += weight * self.back_propagate(X[l], Y[l], weight)  # line 3: BackPropagate
        # line 4: end for
        saved = self.w.array.copy(), self.b.array.copy()
        try:
            self.update_nn(eta)  # line 5: UpdateNN
        except BaseException:  # a failure part-way (e.g. an overflow): put every parameter back
            np.copyto(self.w.array, saved[0])
            np.copyto(self.b.array, saved[1])
            raise
        return E_L

    def init_grad(self) -> None:
        r"""Algorithm 2, InitGrad: :math:`\Delta w_{ij} \leftarrow 0`, :math:`\Delta b_i \leftarrow 0`."""
        dw, db, S = self.dw, self.db, self.S
        dw.clear()
        db.clear()
        for i in self.hidden_and_output:  # line 1: for i in U_2 u ... u U_N
            for j in S[i]:  # line 2: for j in S_i
                dw[i, j] = 0.0  # line 3: Delta w_ij <- 0
            # line 4: end for
            db[i] = 0.0  # line 5: Delta b_i <- 0

    def back_propagate(self, x_star: Sequence[float], y_star: Sequence[float], weight: float = 1.0) -> float:
        r"""Algorithm 3, BackPropagate: add one run's :math:`p_i y_j` and :math:`p_i` to :math:`\Delta w_{ij}`, :math:`\Delta b_i`.

        .. math::
            p_i \leftarrow \frac{\partial E}{\partial y_i}\ (i \in \mathbb{U}_N);\quad
            p_i \leftarrow p_i v_i,\quad p_j \leftarrow p_j + p_i w_{ij},\quad
            \Delta w_{ij} \leftarrow \Delta w_{ij} + p_i y_j,\quad \Delta b_i \leftarrow \Delta b_i + p_i

        Parameters
        ----------
        x_star : sequence of float, length n_in
        y_star : sequence of float, length n_out
        weight : float
            Factor on this run's :math:`E` in the batch loss: 1 for eq. (8)'s sum,
            :math:`1/|\mathbb{L}|` for the mean.  It scales :math:`\partial E/\partial y_i`.

        Returns
        -------
        float
            This run's (unweighted) loss :math:`E`.
        """
        x, y, p, v, w, S, dw, db = self.x, self.y, self.p, self.v, self.w, self.S, self.dw, self.db
        self.propagate(x_star)  # line 1: Propagate
        self.init_param()  # line 2: InitParam
        a = np.array([[y[i] for i in self.outputs]])
        t = np.asarray(y_star, dtype=np.float64).reshape(1, -1)
        dE_dy = self.loss_fn.grad_a(a, t)[0] * weight  # dE/dy_i from the core's loss (eq. 15 for half_sse)
        for k, i in enumerate(self.outputs):  # line 3: for i in U_N
            p[i] = float(dE_dy[k])  # line 4: p_i <- dE/dy_i
        # line 5: end for
        for n in range(self.N, 1, -1):  # line 6: for n = N downto 2
            for i in self.layers[n - 1]:  # line 7: for i in U_n
                p[i] = p[i] * v[i]  # line 8: p_i <- p_i v_i
                for j in S[i]:  # line 9: for j in S_i
                    p[j] = p[j] + p[i] * w[i, j]  # line 10: p_j <- p_j + p_i w_ij
                    dw[i, j] = dw[i, j] + p[i] * y[j]  # line 11: Delta w_ij <- Delta w_ij + p_i y_j
                # line 12: end for
                db[i] = db[i] + p[i]  # line 13: Delta b_i <- Delta b_i + p_i (memo: Delta d_i)
        zs = np.array([[x[i] for i in self.outputs]])
        return float(self.loss_fn.per_sample(zs, a, t)[0])

    def init_param(self) -> None:
        r"""Algorithm 4, InitParam: :math:`p_i \leftarrow 0` for every unit, :math:`v_i \leftarrow f_i'(x_i)`.

        Needs ``self.x`` from :meth:`propagate`.  :math:`v_i` is set for the units of
        :math:`\mathbb{U}_2, \dots, \mathbb{U}_N` only: input units have no :math:`f_i`.
        """
        p, v, x, f = self.p, self.v, self.x, self.f
        v.clear()
        for i in self.units:  # line 1: for i in U_1 u ... u U_N
            p[i] = 0.0  # line 2: p_i <- 0
            if i in f:  # (correction: the memo also takes f' of input units)
                v[i] = _scalar(f[i].derivative, x[i])  # line 3: v_i <- f_i'(x_i)
        # line 4: end for

    def update_nn(self, eta: float) -> None:
        r"""Algorithm 5, UpdateNN: :math:`b_i \leftarrow b_i - \eta \Delta b_i`, :math:`w_{ij} \leftarrow w_{ij} - \eta \Delta w_{ij}`.

        Needs ``self.dw`` and ``self.db`` from Algorithms 2-3.
        """
        w, b, S, dw, db = self.w, self.b, self.S, self.dw, self.db
        for i in self.hidden_and_output:  # line 1: for i in U_2 u ... u U_N
            b[i] = b[i] - eta * db[i]  # line 2: b_i <- b_i - eta Delta b_i (memo: d_i)
            for j in S[i]:  # line 3: for j in S_i
                w[i, j] = w[i, j] - eta * dw[i, j]  # line 4: w_ij <- w_ij - eta Delta w_ij
            # line 5: end for

    def _loops_gradients(self, X: Array, Y: Array) -> Array:
        """Algorithms 2 and 3 over the batch (no update); returns the :math:`p_i` of every run."""
        P = np.empty((X.shape[0], len(self.units)))
        weight = reduction_factor(self.reduction, X.shape[0])
        self.init_grad()
        for l in range(X.shape[0]):
            self.back_propagate(X[l], Y[l], weight)
            P[l] = [self.p[i] for i in self.units]
        return P
