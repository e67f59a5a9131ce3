"""rnn_core: recurrent networks from first principles, in numpy.

Shapes use these letters throughout the package and the book:

    T  time steps            B  batch size
    D  input features        H  hidden units
    V  vocabulary size (or number of classes, C)

Arrays are time-major: a batch of sequences is ``(T, B, D)``. Steps use row
vectors, ``x_t @ W_x + h_prev @ W_h + b``. Every trainable object has
``params`` and ``grads`` dicts with the same keys; every backward is checked
against central finite differences in float64 (see ``rnn_core.gradcheck``).
"""
from .errors import HyperparameterError, NonFiniteError, RNNCoreError, ShapeError
from .gradcheck import GradcheckResult, gradcheck, numerical_gradient, rel_error
from .module import Module
from .rnn import RNN
from .lstm import LSTM
from .peephole import PeepholeLSTM
from .gru import GRU
from .layers import Dense, Dropout, Embedding
from .losses import log_softmax, mse, perplexity, softmax, softmax_cross_entropy
from . import init

__version__ = "0.1.0"
