"""Reverse-mode automatic differentiation on arrays.

A `Tensor` wraps a NumPy or CuPy array. Every differentiable operation is a `Function`: `forward`
computes the output from raw arrays and saves what `backward` needs; `backward` turns the gradient of
the output into gradients of the inputs (the chain rule, one node at a time). Calling a Function on
tensors that require grad records a node in the graph; `Tensor.backward()` visits the nodes in reverse
topological order and accumulates gradients into the leaves (docs/autograd.md).

The arithmetic and shape operations behind Python's operators live here, next to `Tensor`, because the
operators need them; every other function (activations, losses, ...) lives in `functional.py`.
"""

import contextlib

import numpy as np

from .backend import as_numpy, device_of, get_array_module, to_device

# ---- Grad mode ------------------------------------------------------------------------------------

_grad_enabled = True


@contextlib.contextmanager
def no_grad():
    """Within this block operations record no graph (evaluation, optimizer updates)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled():
    return _grad_enabled


# ---- Tensor ---------------------------------------------------------------------------------------

class Tensor:
    """An array with an optional gradient and the `Function` node that produced it.

    `data` is a numpy or cupy array and keeps its dtype; `grad` is None until a backward pass reaches
    this tensor (only leaves, tensors created by the user, keep their `grad`, as in PyTorch)."""

    __array_priority__ = 1000  # numpy_array * tensor calls Tensor.__rmul__, not numpy's broadcasting

    def __init__(self, data, requires_grad=False):
        if isinstance(data, Tensor):
            data = data.data
        if get_array_module(data) is np:
            data = np.asarray(data)
        if requires_grad and data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, got dtype {data.dtype}")
        self.data = data
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None  # the Function that made this tensor; None for leaves

    # -- array-like properties ---------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)
    device = property(lambda self: device_of(self.data))
    is_leaf = property(lambda self: self._ctx is None)

    def __len__(self): return len(self.data)

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({self.data!r}{grad})"

    def numpy(self):
        """The data as a NumPy array (a copy from the GPU when needed)."""
        return as_numpy(self.data)

    def item(self): return self.data.item()

    def __bool__(self):
        """The truth of a one-element tensor; of more elements it is ambiguous, as for arrays."""
        if self.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any() or .all() "
                             "on its .data")
        return bool(self.data.item())

    def detach(self):
        """The same data, cut from the graph."""
        return Tensor(self.data)

    def to(self, device):
        """A leaf copy of this tensor on `device` ('cpu' or 'cuda')."""
        return Tensor(to_device(self.data, device), requires_grad=self.requires_grad)

    def zero_grad(self):
        self.grad = None

    # -- backward ----------------------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf that requires grad, then free the graph.

        `grad` is the gradient of some scalar with respect to this tensor; it may be omitted only when
        this tensor holds a single element (then it is 1). A leaf's gradient has the leaf's dtype.
        Freeing releases the arrays each node saved; a second backward through a freed node is an error,
        as in PyTorch, unless the first passed `retain_graph=True`."""
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad (no input required grad, "
                               "or it was computed under no_grad)")
        xp = get_array_module(self.data)
        if grad is None:
            if self.size != 1:
                raise RuntimeError(f"backward: output of shape {self.shape} is not a scalar; "
                                   "pass the gradient of the output explicitly")
            grad = xp.ones_like(self.data)
        else:
            grad = grad.data if isinstance(grad, Tensor) else xp.asarray(grad, dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward: gradient shape {grad.shape} != tensor shape {self.shape}")

        grads = {id(self): grad}
        given_to_leaves = set()  # a backward may hand one array to two inputs (a + b): copy the second
        for node in _reverse_topological_order(self):
            g = grads.pop(id(node), None)
            ctx = node._ctx
            if g is None:  # every consumer of this node returned None for it
                continue
            if ctx is None:  # a leaf: keep its gradient, in its own dtype
                if g.dtype != node.dtype:
                    g = g.astype(node.dtype)
                if node.grad is not None:
                    node.grad = node.grad + g
                else:
                    node.grad = g.copy() if id(g) in given_to_leaves else g
                    given_to_leaves.add(id(node.grad))
                continue
            input_grads = ctx.backward(g)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            for inp, gi in zip(ctx.inputs, input_grads):
                if gi is None or not inp.requires_grad:
                    continue
                if gi.shape != inp.shape:
                    raise RuntimeError(f"{type(ctx).__name__}.backward returned a gradient of shape "
                                       f"{gi.shape} for an input of shape {inp.shape}")
                key = id(inp)
                # the first gradient is stored as-is; later ones (tensor used twice) are added
                grads[key] = gi if key not in grads else grads[key] + gi
            if not retain_graph:  # free the graph: the saved arrays can be released now
                vars(ctx).clear()

    # -- operators: each builds one node (the right-hand versions serve `2 * t`) -------------------
    def __add__(self, other): return Add()(self, other)
    def __radd__(self, other): return Add()(other, self)
    def __sub__(self, other): return Sub()(self, other)
    def __rsub__(self, other): return Sub()(other, self)
    def __mul__(self, other): return Mul()(self, other)
    def __rmul__(self, other): return Mul()(other, self)
    def __truediv__(self, other): return Div()(self, other)
    def __rtruediv__(self, other): return Div()(other, self)
    def __matmul__(self, other): return MatMul()(self, other)
    def __rmatmul__(self, other): return MatMul()(other, self)
    def __neg__(self): return Neg()(self)
    def __getitem__(self, index): return GetItem(index)(self)

    def __pow__(self, exponent):
        if isinstance(exponent, Tensor):
            raise TypeError("tensor ** tensor is not supported; use exp(b * log(a))")
        return Pow(exponent)(self)

    # comparisons give plain boolean arrays: they have no gradient
    def __lt__(self, other): return self.data < _raw(other)
    def __le__(self, other): return self.data <= _raw(other)
    def __gt__(self, other): return self.data > _raw(other)
    def __ge__(self, other): return self.data >= _raw(other)

    __hash__ = object.__hash__  # tensors are graph nodes, hashed by identity

    # -- reductions and shapes ---------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False): return Sum(axis, keepdims)(self)
    def mean(self, axis=None, keepdims=False): return Mean(axis, keepdims)(self)
    def max(self, axis=None, keepdims=False): return Max(axis, keepdims)(self)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Reshape(shape)(self)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return Transpose(axes or None)(self)

    @property
    def T(self): return Transpose(None)(self)


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def as_tensor(x, like=None):
    """`x` as a Tensor; Python numbers take the dtype of `like` so float32 math stays float32."""
    if isinstance(x, Tensor):
        return x
    if like is not None and np.isscalar(x):
        xp = get_array_module(like.data)
        return Tensor(xp.asarray(x, dtype=like.dtype if like.dtype.kind == "f" else None))
    return Tensor(x)


def _reverse_topological_order(root):
    """Nodes reachable from `root`, each after every node that uses it (iterative DFS, no recursion)."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if node._ctx is not None:
            if node._ctx.inputs is None:
                raise RuntimeError("backward: the graph through this tensor was freed by an earlier backward(); "
                                   "pass retain_graph=True to the first backward() to go through it again")
            for inp in node._ctx.inputs:
                if inp.requires_grad and id(inp) not in visited:
                    stack.append((inp, False))
    return reversed(order)


# ---- Function -------------------------------------------------------------------------------------

class Function:
    """One differentiable operation. Subclasses define `forward(*arrays)` and `backward(grad)`.

    `backward` returns one gradient per input (a tuple, or a single array for one input), each of the
    input's shape; None where an input needs none. `self.needs_grad[i]` says whether input i does."""

    inputs = None  # set when the call is recorded in a graph; cleared again when backward frees it

    def __call__(self, *inputs):
        like = next((x for x in inputs if isinstance(x, Tensor)), None)
        tensors = [as_tensor(x, like) for x in inputs]
        get_array_module(*[t.data for t in tensors])  # raises a clear error on a numpy/cupy mix
        record = _grad_enabled and any(t.requires_grad for t in tensors)
        self.needs_grad = [t.requires_grad for t in tensors]
        out = Tensor(self.forward(*[t.data for t in tensors]))
        if record:
            out.requires_grad = True
            out._ctx = self
            self.inputs = tensors
        return out

    def forward(self, *arrays): raise NotImplementedError
    def backward(self, grad): raise NotImplementedError


def unbroadcast(grad, shape):
    """Sum `grad` down to `shape`: the backward of NumPy broadcasting.

    Broadcasting copies an input along new leading axes and along axes of length 1; the gradient of a
    copy is the sum of the gradients of its copies."""
    # BEGIN EXERCISE 1: unbroadcast, the backward of broadcasting
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1)
    grad = grad.sum(axis=axes, keepdims=True) if axes else grad
    return grad.reshape(shape)
    # END EXERCISE


# ---- Arithmetic (with broadcasting) ---------------------------------------------------------------

class Add(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, g): return unbroadcast(g, self.shapes[0]), unbroadcast(g, self.shapes[1])


class Sub(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, g): return unbroadcast(g, self.shapes[0]), unbroadcast(-g, self.shapes[1])


class Mul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        ga = unbroadcast(g * self.b, self.a.shape) if self.needs_grad[0] else None
        gb = unbroadcast(g * self.a, self.b.shape) if self.needs_grad[1] else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        ga = unbroadcast(g / self.b, self.a.shape) if self.needs_grad[0] else None
        gb = unbroadcast(-g * self.a / (self.b * self.b), self.b.shape) if self.needs_grad[1] else None
        return ga, gb


class Neg(Function):
    def forward(self, a): return -a
    def backward(self, g): return -g


class Pow(Function):
    """a ** p for a constant exponent p: d/da = p a^(p-1)."""

    def __init__(self, exponent):
        self.p = exponent

    def forward(self, a):
        self.a = a
        return a**self.p

    def backward(self, g): return g * self.p * self.a ** (self.p - 1)


class MatMul(Function):
    """a @ b for 2-D operands (batch first): ga = g bᵀ, gb = aᵀ g."""  # student copy: """a @ b, 2-D operands."""

    def forward(self, a, b):
        if a.ndim != 2 or b.ndim != 2:
            raise ValueError(f"matmul: expected 2-D operands, got shapes {a.shape} and {b.shape}")
        if a.shape[1] != b.shape[0]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align "
                             f"({a.shape[1]} != {b.shape[0]})")
        self.a, self.b = a, b
        return a @ b

    def backward(self, g):
        # BEGIN EXERCISE 2: the backward of matmul
        ga = g @ self.b.T if self.needs_grad[0] else None
        gb = self.a.T @ g if self.needs_grad[1] else None
        return ga, gb
        # END EXERCISE


# ---- Reductions -----------------------------------------------------------------------------------

def _expand_reduced(g, shape, axis, keepdims):
    """Reinsert the reduced axes of `g` (length 1) so that it broadcasts against `shape`."""
    if axis is None:
        return g.reshape((1,) * len(shape))
    if not keepdims:
        axes = (axis,) if np.isscalar(axis) else axis
        axes = sorted(a % len(shape) for a in axes)
        for a in axes:
            g = g.reshape(g.shape[:a] + (1,) + g.shape[a:])
    return g


class Sum(Function):
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        self.shape = a.shape
        return a.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, g):
        xp = get_array_module(g)
        return xp.broadcast_to(_expand_reduced(g, self.shape, self.axis, self.keepdims), self.shape).copy()


class Mean(Function):
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        self.shape = a.shape
        out = a.mean(axis=self.axis, keepdims=self.keepdims)
        self.count = a.size // max(out.size, 1) if a.size else 0
        return out

    def backward(self, g):
        xp = get_array_module(g)
        g = _expand_reduced(g, self.shape, self.axis, self.keepdims) / self.count
        return xp.broadcast_to(g, self.shape).copy()


class Max(Function):
    """Maximum along axes; ties share the gradient equally."""

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        self.a = a
        self.out = a.max(axis=self.axis, keepdims=True)
        return self.out if self.keepdims else self.out.reshape(a.max(axis=self.axis).shape)

    def backward(self, g):
        mask = self.a == self.out
        count = mask.sum(axis=self.axis, keepdims=True)
        return mask * (_expand_reduced(g, self.a.shape, self.axis, self.keepdims) / count)


# ---- Shapes and indexing --------------------------------------------------------------------------

class Reshape(Function):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, a):
        self.in_shape = a.shape
        try:
            return a.reshape(self.shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape {a.shape} (size {a.size}) into {self.shape}") from None

    def backward(self, g): return g.reshape(self.in_shape)


class Transpose(Function):
    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, a): return a.transpose(self.axes)

    def backward(self, g):
        if self.axes is None:
            return g.transpose()
        return g.transpose(np.argsort(self.axes))


class GetItem(Function):
    """a[index] for any NumPy index; repeated indices accumulate their gradients."""

    def __init__(self, index):
        self.index = index.data if isinstance(index, Tensor) else index

    def forward(self, a):
        self.shape, self.dtype = a.shape, a.dtype
        return a[self.index]

    def backward(self, g):
        xp = get_array_module(g)
        out = xp.zeros(self.shape, dtype=self.dtype)
        xp.add.at(out, self.index, g)
        return out
