"""The push: a Purchase Invoice into portal rows (`rows`), and the push, cancellation and
payment-state writes with their bookkeeping (`engine`).

May import: `o2o_sync.sync.model`, `o2o_sync.constants` and the engine's other modules.
"""
