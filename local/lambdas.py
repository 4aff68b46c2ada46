"""The functions of template.yaml, hosted in this process as Lambda would host them: the layer on
the path, each function's module imported on its own (under a unique name, so the six `app`
modules never collide), its handler called with an event and a context."""

import importlib.util
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from local.template import FunctionSpec

REGION = "eu-west-3"
ACCOUNT_ID = "123456789012"


class LambdaContext:
    """What Lambda passes as `context` (the attributes Powertools reads)."""

    memory_limit_in_mb = 512
    function_version = "$LATEST"

    def __init__(self, function_name: str, timeout_seconds: float) -> None:
        self.function_name = function_name
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class LocalFunction:
    spec: FunctionSpec
    module: ModuleType

    @property
    def name(self) -> str:
        return self.spec.logical_id

    @property
    def handler(self) -> Any:
        return getattr(self.module, self.spec.handler)


def put_layers_on_path(layer_dirs: list[Path]) -> None:
    """Lambda mounts each layer's python/ at /opt/python; here the layer's source folder is that."""
    for layer in reversed(layer_dirs):
        if str(layer) not in sys.path:
            sys.path.insert(0, str(layer))


def import_isolated(spec: FunctionSpec) -> ModuleType:
    """The function's handler module, under a name of its own (`app` would clash between functions)."""
    source = spec.code_dir.joinpath(*spec.module.split(".")).with_suffix(".py")
    name = f"_local_function_{spec.logical_id}"
    module_spec = importlib.util.spec_from_file_location(name, source)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot import {source}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module


def shared_environment(specs: list[FunctionSpec]) -> dict[str, str]:
    """One process hosts every function, so they must agree on their environment (here they all
    take it from Globals); a function with its own different value would need its own process."""
    merged: dict[str, str] = {}
    for spec in specs:
        for name, value in spec.environment.items():
            if merged.setdefault(name, value) != value:
                raise RuntimeError(f"{spec.logical_id} sets {name} differently from another function")
    return merged


class FunctionHost:
    """Calls handlers one at a time: the functions share the layer's module-level logger and
    metrics (as each Lambda container does), and a container runs one invocation at a time."""

    def __init__(self, specs: list[FunctionSpec], before_invoke: Callable[[], None] | None = None) -> None:
        self.functions = {spec.logical_id: LocalFunction(spec, import_isolated(spec)) for spec in specs}
        self._lock = threading.Lock()
        self._before_invoke = before_invoke  # the dev server's hook (its provider faults)

    def invoke(self, function: LocalFunction, event: dict[str, Any]) -> Any:
        context = LambdaContext(function.name, function.spec.timeout)
        with self._lock:
            if self._before_invoke is not None:
                self._before_invoke()
            return function.handler(event, context)
