"""Running models: providers, inputs, and the step-through debugger over one captured run.

>>> import workbench as wb
>>> dbg = wb.debug(wb.samples.open("tiny_cnn"))
>>> dbg.step().op_type
'Conv'
"""

from . import conditions
from ._debugger import Breakpoint, Debugger, Step, debug
from ._inputs import check_inputs, random_inputs
from ._providers import providers

__all__ = ["Breakpoint", "Debugger", "Step", "check_inputs", "conditions", "debug", "providers", "random_inputs"]
