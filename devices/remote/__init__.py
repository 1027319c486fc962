"""Sessions across two sites: the patient's LSL streams carried to the clinic over eclipse-zenoh.

LSL stays inside each site. On the patient's laptop :mod:`devices.remote.share` reads the local
streams and publishes them in ~100 ms chunks with their raw timestamps; a relay (the zenoh
router, :mod:`devices.remote.relay`) forwards them; at the clinic :mod:`devices.remote.receive`
estimates the patient's clock offset and drift with NTP-style probes over the same link and
re-publishes the streams as local LSL outlets on the clinician's clock. Mutual TLS with
per-session certificates (:mod:`devices.remote.pki`, :mod:`devices.remote.invite`) is on by
default.
"""
