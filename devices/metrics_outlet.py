"""The engine's metrics as an LSL stream (``Attunement-Metrics``, type ``Metrics``).

One sample per DSP tick, one double64 channel per metric with label and unit in the stream
description, so LabRecorder or any LSL tool can record or show the app's numbers, and latency
can be measured from outside: each ``*_input_t`` channel is the newest input timestamp (LSL
clock, s) the tick used, the sample timestamp is when the tick finished.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from devices.lsl import make_outlet


class MetricsOutlet:
    """Publish named metric values (NaN when unknown) as one LSL sample per call.

    Parameters
    ----------
    channels : sequence of (label, unit)
        Fixed channel layout.
    source_id : str
        Stable source_id (include something unique per app instance in tests).
    name : str
        Stream name.
    """

    def __init__(
        self,
        channels: Sequence[tuple[str, str]],
        source_id: str = "attunement-metrics",
        name: str = "Attunement-Metrics",
    ) -> None:
        self.labels = [c[0] for c in channels]
        self._index = {label: i for i, label in enumerate(self.labels)}
        self._outlet = make_outlet(
            name,
            "Metrics",
            source_id,
            0.0,
            self.labels,
            [c[1] for c in channels],
            channel_format="double64",
        )

    def push(self, values: Mapping[str, float], timestamp: float) -> None:
        """Push one sample; labels missing from ``values`` are sent as NaN."""
        row = np.full(len(self.labels), np.nan)
        for key, v in values.items():
            i = self._index.get(key)
            if i is not None and v is not None:
                row[i] = float(v)
        self._outlet.push_sample(row.tolist(), timestamp)

    def close(self) -> None:
        self._outlet = None
