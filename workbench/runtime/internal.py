"""What the layers above (comparison, profiling, analysis, widgets, sweeps) use of the runtime package
beside its public face: feeds, session options and optimized graphs, providers, typed session
errors, the value representation. Not for users: it changes with the code that needs it.

Every import of this package's private modules from another package goes through here (a test
checks the import graph: ``tests/test_layers.py``).
"""

from ._errors import session_error
from ._inputs import input_specs, make_feeds
from ._isolate import Worker, shared_worker
from ._optimize import (
    LEVELS,
    THREADS_VARIABLE,
    check_level,
    cores,
    open_optimized,
    optimized,
    save_optimized_graph,
    session_options,
)
from ._providers import ALIASES, COMPILING, CPU, REFERENCE, resolve
from ._session import SessionRunner, check_runnable, make_runner, onnx_dtype
from ._values import (
    SPECIAL,
    Value,
    as_value,
    describe,
    from_reference,
    is_special,
    load,
    numeric,
    output_types,
    run_session,
    same_structure,
    save,
    tensors,
)

__all__ = [
    "ALIASES", "COMPILING", "CPU", "LEVELS", "REFERENCE", "SPECIAL", "THREADS_VARIABLE", "SessionRunner", "Value",
    "Worker", "as_value", "check_level", "check_runnable", "cores", "describe", "from_reference", "input_specs",
    "is_special", "load", "make_feeds", "make_runner", "numeric", "onnx_dtype", "open_optimized", "optimized",
    "output_types", "resolve", "run_session", "same_structure", "save", "save_optimized_graph", "session_error",
    "session_options", "shared_worker", "tensors",
]
