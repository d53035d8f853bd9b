"""Benchmarks of the SDK, each a ratio against a baseline measured in the same run.

Run with ``make bench`` (``python -m bench``; ``--quick`` for a harness check). Never run by the
test suite. Benchmark-only dependencies: ``klaviyo-api==23.0.0`` (the official SDK at our stable
revision, compared where installed) and ``pyinstrument`` (for profiling by hand).

- ``overhead``: one 100-campaign page, SDK typed vs raw httpx + ``json.loads``
- ``concurrency``: 2,000 GETs, 100 in flight: SDK vs raw httpx vs klaviyo-api on threads
- ``listing``: 10,000 campaigns from the fake with a consumer; memory while listing
- ``limiter``: the default ``WindowLimiter`` against the fake enforcing the spec's limits
- ``startup``: cold import + first call (and its parts); regeneration time
- ``many_accounts``: 200 clients, one per API key, in one process: CPU per request vs raw
- ``progress``: what ``python -m bench`` prints on stderr while it runs
- ``fixed_server`` / ``fake_server``: the servers, each in its own process (``processes``)
"""
