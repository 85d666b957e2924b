"""Modules: the contract, finding them by name and version, loading them."""
