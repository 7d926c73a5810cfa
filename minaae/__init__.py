"""minaae: Adversarial Autoencoders (Makhzani et al., 2015) from scratch on NumPy/CuPy.

Reading order of the source (each layer imports only from the ones above it in this list):
backend -> kernels -> autograd -> functional -> nn -> optim -> data -> priors -> metrics -> aae -> train -> plot.
"""

from .autograd import Function, Tensor, is_grad_enabled, no_grad
from .backend import default_rng, get_array_module
from .gradcheck import GradcheckError, gradcheck

__all__ = ["Tensor", "Function", "no_grad", "is_grad_enabled", "gradcheck", "GradcheckError",
           "default_rng", "get_array_module"]
__version__ = "0.1.0"
