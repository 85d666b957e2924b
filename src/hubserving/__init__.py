"""hubserving: serve a trained model over HTTP with one command."""

from hubserving.module.decorators import ModuleInfo, moduleinfo, serving

__version__ = "0.1.0"
__all__ = ["ModuleInfo", "__version__", "moduleinfo", "serving"]
