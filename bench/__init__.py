"""Benchmarks of the course: how fast the series runs and how good its networks are.

``make bench`` (= ``python -m bench``) writes ``bench/results.json`` and ``bench/RESULTS.md``:

1. *series*  – wall time and peak memory of a full nbclient execution of every solution
   notebook (median of repeated runs, with the spread);
2. *quality* – held-out accuracy, parameters and training seconds of every network the
   labs train (measured in the same executions: ``Model.fit`` is timed, then every trained
   model is evaluated on the held-out file);
3. *full*    – the full Fashion-MNIST (60,000 / 10,000) with lab 6's MLP and the course CNN;
4. *scaling* – training seconds per epoch against the number of images (plot: ``bench/scaling.png``).

Each part can run alone (``--parts series,quality``); results of parts not run are kept
from the previous ``results.json``.
"""
