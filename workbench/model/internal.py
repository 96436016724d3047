"""What the layers above (graph, runtime, comparison, profiling, analysis) use of the model
package beside its public face. Not for users: it changes with the code that needs it.

Every import of this package's private modules from another package goes through here (a test
checks the import graph: ``tests/test_layers.py``), so that what the others depend on is one
list, and everything else in ``model/`` can move freely.
"""

from ._cost import attribute_values, node_cost
from ._load import PROTOBUF_LIMIT, external_info, external_tensors, is_onnx_program, resolve_external
from ._model import format_attribute, open_unchecked
from ._scopes import NodeScope, Scope, assign_scopes, build_tree
from ._summary import card_html, format_bytes, summary_text
from ._tensors import SUB_BYTE_BITS, tensor_dtype, tensor_stats, type_name
from ._walk import NodeRecord, add_bare, iter_graphs, may_hold_graphs, node_metadata, subgraphs, walk_nodes

__all__ = [
    "PROTOBUF_LIMIT", "SUB_BYTE_BITS", "NodeRecord", "NodeScope", "Scope", "add_bare", "assign_scopes",
    "attribute_values", "build_tree", "card_html", "external_info", "external_tensors", "format_attribute",
    "format_bytes", "is_onnx_program", "open_unchecked", "iter_graphs", "may_hold_graphs", "node_cost", "node_metadata",
    "resolve_external", "subgraphs", "summary_text", "tensor_dtype", "tensor_stats", "type_name", "walk_nodes",
]
