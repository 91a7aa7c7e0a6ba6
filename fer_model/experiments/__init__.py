"""Experiments on top of the runtime and training code: the paper comparison (`compare`),
weight averaging of a run's last epochs (`average`), the latency benchmark (`bench`).

Nothing in the runtime (models, predict, checkpoint, data, covpool, augment) imports this.
"""
