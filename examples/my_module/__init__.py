"""my_module: an example hubserving module (see docs/modules.md). hubserving loads module.py itself."""
