"""What the layers above (the model diff) use of the profiling package beside its public face.
Not for users: it changes with the code that needs it."""

from ._fused import map_nodes

__all__ = ["map_nodes"]
