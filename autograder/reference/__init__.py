"""Reference solution of the mlp_optimizers assignment: the same names and behaviour
as the notebook (see docs/design.md, "The API shared by the reference package and the notebook")."""
from .functions import cross_entropy_error, softmax
from .layers import Affine, LeakyRelu, SoftmaxWithLoss
from .network import PARAM_KEYS, ThreeLayerNet, initialize_parameters
from .optimizers import OPTIMIZERS, SGD, AdaBelief, AdaGrad, Adam, Momentum, Nesterov, RMSprop
from .training import train_network

__all__ = [
    "softmax", "cross_entropy_error", "initialize_parameters",
    "LeakyRelu", "Affine", "SoftmaxWithLoss", "ThreeLayerNet", "PARAM_KEYS",
    "SGD", "AdaGrad", "RMSprop", "Momentum", "Nesterov", "Adam", "AdaBelief", "OPTIMIZERS",
    "train_network",
]
