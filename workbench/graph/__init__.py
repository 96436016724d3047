"""The graph view's data: groups by scope, folded repeats, view JSON, static SVG.

``build_view(model)`` gives a :class:`ViewIndex`; its ``payload()`` is what the
JupyterLab extension draws (``docs/view-schema.md``), ``group()`` and ``details()``
the parts fetched on demand, ``overlay()`` per-node colours, ``to_graphviz()`` the
static picture.
"""

from ._build import FAN_OUT, MAX_ITEMS
from ._index import LAZY_PAYLOAD_BYTES, VIEW_MIME_TYPE, VIEW_SCHEMA_VERSION, ViewIndex, build_view, mime_bundle

__all__ = ["FAN_OUT", "LAZY_PAYLOAD_BYTES", "MAX_ITEMS", "VIEW_MIME_TYPE", "VIEW_SCHEMA_VERSION", "ViewIndex",
           "build_view", "mime_bundle"]
