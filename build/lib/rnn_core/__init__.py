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
from .errors import DTypeError, FileFormatError, HyperparameterError, NonFiniteError, RNNCoreError, ShapeError
from .gradcheck import GradcheckResult, gradcheck, numerical_gradient, rel_error
from .module import Module
from .rnn import RNN
from .lstm import LSTM
from .peephole import PeepholeLSTM
from .gru import GRU
from .layers import Dense, Dropout, Embedding
from .attention import AdditiveAttention, AttentionLSTM, DotProductAttention
from .losses import log_softmax, mse, perplexity, softmax, softmax_cross_entropy
from . import init
from . import data, datasets, optim, schedules, train
from .optim import SGD, Adam, RMSprop, clip_grad_norm, clip_grad_value, global_norm
from .schedules import cosine_with_warmup, exponential_decay, inverse_time_decay, step_decay
from .data import (CharVocab, Standardizer, WordVocab, batches, chronological_split, pad_sequences,
                   sliding_windows, tbptt_batches)
from .datasets import load_aapl, load_hamlet, load_movie_reviews, load_seattle_weather
from .train import EarlyStopping, History, fit
from . import models
from .models import CharLM, SequenceClassifier, SequenceRegressor, load_model
from . import diagnostics, viz, explore
from . import diagrams
from .diagnostics import hidden_state_gradients, jacobian_product_norms
from .explore import explorer_widget
from .bidirectional import Bidirectional
from .stacked import Stacked
from .seq2seq import Seq2Seq, SequenceError
from . import dates

__version__ = "0.1.0"
