"""Attention for language (lessons 02 and 03): the GRU encoder-decoder with and without
attention, the encoder-decoder transformer, sequence classifiers (CNN, RNN, transformer),
attention pooling and pointer attention over long documents."""
