"""Training scripts for the built-in modules' models; run them from the repository root with ``python -m``."""
