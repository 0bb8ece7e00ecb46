"""Attention at scale (lesson 07): how the cost of attention is beaten.

- ``flash``: the online softmax and a tiled, FlashAttention-style exact attention forward that
  never stores the (n, n) scores;
- ``memory``: peak memory of a computation measured in a fresh child process;
- ``checkpointing``: a transformer stack trained with and without gradient checkpointing;
- ``sparse``: sparse attention patterns (window, global, strided, random blocks), block-sparse
  attention and a long-range task a window cannot solve;
- ``linear_attention``: kernelised linear attention and its causal form as a recurrence;
- ``moe``: a mixture-of-experts feed-forward layer with a top-k router and load balancing;
- ``distributed``: multi-head attention split across processes with ``torch.distributed``;
- ``forecasting``: a patched transformer forecaster for long time series.

Imports only ``core``, ``data``, ``train`` and itself.
"""
