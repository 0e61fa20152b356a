r"""The two-layer network of grassdyn's width axis and its empirical neural tangent kernel.

Model (docs/conventions.md, "Two-layer model"):

    f(x) = W^T phi(x),   phi(x) = sigma(U x / sqrt d) / sqrt m,

``U`` of shape ``(m, d)`` with N(0, 1) entries, no biases, ``sigma`` one of
:data:`ACTIVATIONS`. The output layer ``W`` of shape ``(m, h)`` is *free*
(N(0, 1) entries: the NTK parametrisation of Jacot, Gabriel & Hongler,
NeurIPS 2018) or a point of the Grassmannian (``W`` in St(m, h), a frame).

**Empirical NTK.** ``Theta(x, y) = (1/h) sum_a <d f_a(x)/d theta, d f_a(y)/d theta>``
over the trainable parameters ``theta`` of the named layers (the kernel
averaged over the ``h`` outputs). With ``sigma_i(x) = sigma(u_i^T x / sqrt d)``:

- output layer, free: ``d f_a(x) / d W_{ib} = delta_{ab} phi_i(x)``, so
  ``Theta_out(x, y) = phi(x)^T phi(y)`` (the same for every output);
- output layer on the Grassmannian: the gradient is taken in the tangent
  (horizontal) space at ``W`` with the metric ``tr(V1^T V2)``
  (docs/conventions.md): the Euclidean gradient ``phi(x) e_a^T`` is projected
  by ``I - W W^T``, so ``Theta_out(x, y) = phi(x)^T (I - W W^T) phi(y)
  = phi(x)^T phi(y) - f(x)^T f(y)``. This is the Grassmannian's horizontal
  space, not the tangent space of St(m, h), which adds the directions
  ``W Omega`` (``Omega`` skew): those rotate the outputs within their span,
  ``f -> Omega^T f``, a change the Grassmannian view of a representation ignores;
- input layer: ``d f_a(x) / d U_{ik} = W_{ia} sigma'_i(x) x_k / sqrt(m d)``, so

      Theta_in(x, y) = (x^T y / d) (1/m) sum_i sigma'_i(x) sigma'_i(y) ||W_i||^2 / h,

  with ``W_i`` the i-th row of ``W``. For a free output layer
  ``||W_i||^2 / h -> 1``; on the Grassmannian ``sum_i ||W_i||^2 = h``, so
  ``Theta_in`` is ``O(1/m)``: an orthonormal output layer has entries of size
  ``m^{-1/2}`` and its outputs are ``O(m^{-1/2})``.

Both parts are computed in closed form, in chunks of hidden units, in
``O(n1 n2 m)`` time and ``O((n1 + n2) m_chunk)`` memory (no autodiff, no
finite differences). As ``m -> infinity`` the free-output kernel converges to
:func:`grassdyn.width.ntk_limit` (Jacot et al. 2018; Arora et al., "On exact
computation with an infinitely wide neural net", NeurIPS 2019).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from grassdyn import grassmann
from grassdyn._validation import as_float_array, as_int, as_rng, check_allocation, check_choice

__all__ = ["ACTIVATIONS", "LAYERS", "OUTPUTS", "Activation", "TwoLayer", "get_activation", "inputs"]

#: Elements of a chunk of hidden units times inputs held at once (32 MiB of float64).
CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class Activation:
    """An activation ``sigma`` and its derivative ``sigma'`` (elementwise)."""

    name: str

    def __call__(self, z: np.ndarray) -> np.ndarray:
        if self.name == "relu":
            return np.maximum(z, 0.0)
        if self.name == "erf":
            return special.erf(z)
        if self.name == "tanh":
            return np.tanh(z)
        return z

    def derivative(self, z: np.ndarray) -> np.ndarray:
        """``sigma'(z)``; for relu the right derivative at 0 is taken as 0 (``1[z > 0]``)."""
        if self.name == "relu":
            return (z > 0).astype(np.float64)
        if self.name == "erf":
            return (2.0 / np.sqrt(np.pi)) * np.exp(-np.square(z))
        if self.name == "tanh":
            return 1.0 - np.square(np.tanh(z))
        return np.ones_like(z)


#: The activations of the model.
ACTIVATIONS = ("relu", "erf", "tanh", "linear")
#: Output layers: free (NTK parametrisation) or on the Grassmannian.
OUTPUTS = ("free", "grassmann")
#: Which layers' parameters an NTK sums over.
LAYERS = ("both", "input", "output")


def get_activation(name: object, argument: str = "activation") -> Activation:
    """The :class:`Activation` called ``name``, or a ``ValueError`` naming ``argument``."""
    return Activation(check_choice(name, argument, ACTIVATIONS))


def inputs(X: object, d: int, name: str = "X") -> np.ndarray:
    """Validate inputs: a finite array of shape ``(n, d)`` with ``n >= 1``."""
    arr = as_float_array(X, name)
    if arr.ndim != 2 or arr.shape[1] != d or arr.shape[0] < 1:
        raise ValueError(f"{name} must have shape (n, d) = (n, {d}) with n >= 1, got shape {arr.shape}")
    return arr


def chunk_size(m: int, rows: int) -> int:
    """Hidden units per chunk so that a ``rows x chunk`` array stays within :data:`CHUNK_ELEMENTS`."""
    return max(1, min(m, CHUNK_ELEMENTS // max(rows, 1)))


class TwoLayer:
    """``f(x) = W^T sigma(U x / sqrt d) / sqrt m``: a two-layer network without biases.

    Parameters
    ----------
    d, m, h : int
        Input dimension, width (hidden units) and output dimension, ``1 <= h <= m``.
    activation : {"relu", "erf", "tanh", "linear"}
    output : {"free", "grassmann"}
        ``"free"``: ``W`` with N(0, 1) entries (NTK parametrisation);
        ``"grassmann"``: ``W`` a uniformly random point of St(m, h).
    rng : numpy.random.Generator, int or None

    Attributes
    ----------
    U : ndarray, shape (m, d)
    W : ndarray, shape (m, h)
        Plain arrays; a user may replace them (shapes are checked on use).

    Notes
    -----
    Conventions and the NTK formulas: module docstring and
    docs/conventions.md. Memory: ``U`` and ``W`` take ``8 m (d + h)`` bytes;
    a width the machine cannot hold is refused up front with that size.

    Examples
    --------
    >>> net = TwoLayer(3, 1000, 2, rng=0)
    >>> X = np.eye(3)
    >>> net(X).shape, net.ntk(X).shape
    ((3, 2), (3, 3))
    >>> bool(np.allclose(net.ntk(X), net.ntk(X, layers="input") + net.ntk(X, layers="output")))
    True
    """

    def __init__(
        self,
        d: int,
        m: int,
        h: int,
        activation: str = "relu",
        output: str = "free",
        rng: Any = None,
    ) -> None:
        self.d = as_int(d, "d", minimum=1)
        self.m = as_int(m, "m", minimum=1)
        self.h = as_int(h, "h", minimum=1)
        if self.h > self.m:
            raise ValueError(f"h must be <= m (an output layer of rank h needs h hidden units), got h = "
                             f"{self.h} > m = {self.m}")
        self.sigma = get_activation(activation)
        self.output = check_choice(output, "output", OUTPUTS)
        check_allocation((self.m, self.d + self.h),
                         f"TwoLayer(d, m, h) = ({self.d}, {self.m}, {self.h}): parameters U and W")
        gen = as_rng(rng)
        self.U = gen.standard_normal((self.m, self.d))
        if self.output == "free":
            self.W = gen.standard_normal((self.m, self.h))
        else:
            self.W = grassmann.random_point(self.m, self.h, gen)

    @property
    def activation(self) -> str:
        return self.sigma.name

    def __repr__(self) -> str:
        return (f"TwoLayer(d={self.d}, m={self.m}, h={self.h}, activation={self.activation!r}, "
                f"output={self.output!r})")

    # -- parameters and inputs --------------------------------------------------------------
    def params(self) -> tuple[np.ndarray, np.ndarray]:
        """``(U, W)`` after checking that a user's replacement kept shapes and finiteness."""
        U = as_float_array(self.U, "net.U")
        W = as_float_array(self.W, "net.W")
        if U.shape != (self.m, self.d):
            raise ValueError(f"net.U must have shape (m, d) = {(self.m, self.d)}, got {U.shape}")
        if W.shape != (self.m, self.h):
            raise ValueError(f"net.W must have shape (m, h) = {(self.m, self.h)}, got {W.shape}")
        return U, W

    def with_params(self, U: np.ndarray, W: np.ndarray) -> TwoLayer:
        """A shallow copy of this network with parameters ``U`` and ``W`` (checked on use)."""
        other = copy.copy(self)
        other.U, other.W = U, W
        return other

    def inputs(self, X: object, name: str = "X") -> np.ndarray:
        """``X`` checked to have shape ``(n, d)`` and finite entries."""
        return inputs(X, self.d, name)

    def preactivations(
        self, X: np.ndarray, U: np.ndarray | None = None
    ) -> Iterator[tuple[slice, np.ndarray]]:
        """Chunks ``(s, Z)`` of hidden units, ``Z = X U[s]^T / sqrt d`` of shape ``(n, len(s))``."""
        U = self.params()[0] if U is None else U
        step = chunk_size(self.m, X.shape[0])
        scale = 1.0 / np.sqrt(self.d)
        for start in range(0, self.m, step):
            s = slice(start, min(start + step, self.m))
            yield s, (X @ U[s].T) * scale

    # -- the network ------------------------------------------------------------------------
    def features(self, X: object) -> np.ndarray:
        """Random features ``phi(X) = sigma(X U^T / sqrt d) / sqrt m``, shape ``(n, m)``.

        Refused up front (``ValueError`` with the size) when the ``n x m``
        array would not fit in memory; :meth:`__call__` and :meth:`ntk` never
        form it.
        """
        X = self.inputs(X)
        check_allocation((X.shape[0], self.m), f"features(X) of shape (n, m) = ({X.shape[0]}, {self.m})")
        U, _ = self.params()
        return self.sigma((X @ U.T) / np.sqrt(self.d)) / np.sqrt(self.m)

    def __call__(self, X: object) -> np.ndarray:
        """Outputs ``f(X) = phi(X) W``, shape ``(n, h)``, in chunks of hidden units."""
        X = self.inputs(X)
        _, W = self.params()
        out = np.zeros((X.shape[0], self.h))
        for s, Z in self.preactivations(X):
            out += self.sigma(Z) @ W[s]
        return out / np.sqrt(self.m)

    def ntk(self, X: object, Y: object = None, layers: str = "both") -> np.ndarray:
        """Empirical NTK averaged over outputs, shape ``(n1, n2)``; ``Y=None`` means ``Y = X``.

        Parameters
        ----------
        X : array_like, shape (n1, d)
        Y : array_like, shape (n2, d), optional
        layers : {"both", "input", "output"}
            Whose parameters the kernel sums over. A Grassmannian output layer
            contributes its tangent-space kernel ``phi(x)^T (I - W W^T) phi(y)``
            (module docstring).

        Notes
        -----
        ``O(n1 n2 m)`` time, ``O((n1 + n2) m_chunk)`` memory; formulas in the
        module docstring.
        """
        X = self.inputs(X)
        Y = X if Y is None else self.inputs(Y, "Y")
        check_choice(layers, "layers", LAYERS)
        check_allocation((X.shape[0], Y.shape[0]),
                         f"ntk: the kernel matrix of shape (n1, n2) = ({X.shape[0]}, {Y.shape[0]})")
        same = Y is X
        U, W = self.params()
        n1 = X.shape[0]
        both = X if same else np.concatenate([X, Y])
        out_part = np.zeros((n1, Y.shape[0]))
        in_part = np.zeros((n1, Y.shape[0]))
        fx = np.zeros((both.shape[0], self.h))
        row_weight = np.sum(np.square(W), axis=1) / self.h
        for s, Z in self.preactivations(both, U):
            if layers in ("both", "output"):
                act = self.sigma(Z)
                out_part += act[:n1] @ act[n1:].T if not same else act @ act.T
                if self.output == "grassmann":
                    fx += act @ W[s]
            if layers in ("both", "input"):
                der = self.sigma.derivative(Z)
                dx = der[:n1] * row_weight[s]
                in_part += dx @ (der if same else der[n1:]).T
        total = np.zeros_like(out_part)
        if layers in ("both", "output"):
            total += out_part / self.m
            if self.output == "grassmann":
                fx /= np.sqrt(self.m)
                total -= fx[:n1] @ (fx if same else fx[n1:]).T
        if layers in ("both", "input"):
            total += (X @ Y.T / self.d) * in_part / self.m
        return total
