"""The progress bar of Tandem's commands (`tandem synth`, `tandem import`, `import_fills`).

tqdm, without its monitor thread: the thread outlives the bar, and a process with another thread
running may not fork — `tandem import` forks a second process to work ahead
(tandem.fhir.bulk_ahead). The monitor only shortens a stalled bar's refresh; each update still
redraws it.
"""

from __future__ import annotations

from tqdm import tqdm


class ProgressBar(tqdm):
    monitor_interval = 0
