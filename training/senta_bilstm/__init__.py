"""Training of the built-in ``senta_bilstm`` module's model: ``python -m training.senta_bilstm.train``."""
