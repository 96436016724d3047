"""The graph view's data: groups by scope, folded repeats, view JSON, static SVG.

``build_view(model)`` gives a :class:`ViewIndex`; its ``payload()`` is what the
JupyterLab extension draws (``docs/view-schema.md``), ``group()`` and ``details()``
the parts fetched on demand, ``overlay()`` per-node colours, ``to_graphviz()`` the
static picture; ``write_html()`` the whole view as one self-contained HTML file.
"""

from ._build import FAN_OUT, MAX_ITEMS
from ._index import (
    LAZY_PAYLOAD_BYTES,
    VIEW_MIME_TYPE,
    VIEW_SCHEMA_VERSION,
    ViewIndex,
    build_view,
    html_fallback,
    mime_bundle,
)
from ._standalone import STANDALONE_MIME_TYPE, bundle_file, write_html

__all__ = ["FAN_OUT", "LAZY_PAYLOAD_BYTES", "MAX_ITEMS", "STANDALONE_MIME_TYPE", "VIEW_MIME_TYPE",
           "VIEW_SCHEMA_VERSION", "ViewIndex", "build_view", "bundle_file", "html_fallback", "mime_bundle",
           "write_html"]
