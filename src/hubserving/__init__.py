"""hubserving: serve a trained model over HTTP with one command."""

from hubserving.errors import RequestError
from hubserving.module.decorators import ModuleInfo, moduleinfo, serving

__version__ = "0.1.0"
__all__ = ["ModuleInfo", "RequestError", "__version__", "moduleinfo", "serving"]
