"""One module per resource type; importing this package registers them all."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "common" and not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
