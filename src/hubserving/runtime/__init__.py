"""The process runtime: model workers, the pool that feeds them, batching."""
