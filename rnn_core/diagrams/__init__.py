"""Diagrams drawn by code, in one visual language (see ``rnn_core.diagrams.style``).

Every function returns a ``Diagram`` (a matplotlib figure and its alt text; a notebook shows
it as an image with that alt text) or, for the static twins, an animation and its alt text.
matplotlib only; nothing is drawn or changed on import.

    rnn_folded_unrolled()               the simple RNN as a loop and as a chain
    bptt(flows) / bptt_animation(flows) the gradient flowing back, arrows sized by real norms
    lstm_cell(values=None)              the LSTM cell, cell-state path highlighted
    gru_cell() / gru_reset_conventions()  the GRU, and its two reset conventions as a difference
    peepholes()                         peephole connections, diagonal vs full
    attention(tokens, scores, weights)  encoder states, scores, softmax weights, context
    encoder_decoder(source, target)     an encoder-decoder with attention
    connectivity_norms(model, ids, target) / connectivity(text, norms, next_char)
                                        how far back each cell looks, on real text
"""
from . import style
from .style import GATE_COLORS, Diagram, legend, static_twin
from .recurrent import bptt, bptt_animation, rnn_folded_unrolled
from .cells import gru_cell, gru_reset_conventions, lstm_cell, peepholes
from .attention import attention, encoder_decoder
from .connectivity import connectivity, connectivity_norms, reach

__all__ = ["style", "GATE_COLORS", "Diagram", "legend", "static_twin", "rnn_folded_unrolled", "bptt",
           "bptt_animation", "lstm_cell", "gru_cell", "gru_reset_conventions", "peepholes", "attention",
           "encoder_decoder", "connectivity", "connectivity_norms", "reach"]
