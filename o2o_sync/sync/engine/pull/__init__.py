"""The pull: the run over the portal's pages (`engine`, `run`), what happens to one invoice
(`decisions`), Suppliers and Items (`masters`).

May import: `o2o_sync.sync.model`, `o2o_sync.constants` and the engine's other modules.
"""
