"""The schema extensions' hooks run around each phase of an operation, worked out once per class.

For every phase of every request (operation, parsing, validation, execution), Strawberry's runner asks
each extension instance whether its class overrides the phase's hook, inspects the hook's kind and
wraps it in a new context-manager function (`contextlib.contextmanager`, with `functools.update_wrapper`):
with six extensions that is 24 lookups and ten wrappers per request, more than the `{ __typename }`
operation's own execution. Here the wrapper for each class and hook is made once, and a phase enters
its extensions' hooks in order on one exit stack and leaves them in reverse, as Strawberry's does,
also when a hook fails on the way in (the hooks entered before it are left as Strawberry leaves them).

Only hooks written as generator functions (all of the gateway's) take this path; a phase any of
whose hooks is written otherwise (async generators, plain functions) runs through Strawberry's own
manager. The schema uses this runner only where the Strawberry release is one the other shortcuts were
checked with (schema/direct.py CHECKED_VERSIONS).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from types import TracebackType
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner

# A hook as a context manager, from the extension instance (and, for results, the result).
_Factory = Callable[..., AbstractContextManager[None]]
# Hooks that are not generator functions: their phase goes through Strawberry's manager.
_ELSEWISE: Any = object()
# By (extension class, hook name): its factory, None where the class does not override the hook, or
# _ELSEWISE.
_FACTORIES: dict[tuple[type, str], Any] = {}


def _factory(extension_class: type, hook_name: str) -> Any:
    key = (extension_class, hook_name)
    try:
        return _FACTORIES[key]
    except KeyError:
        pass
    hook = getattr(extension_class, hook_name)
    if hook is getattr(SchemaExtension, hook_name):
        made = None
    elif inspect.isgeneratorfunction(hook):
        made = contextlib.contextmanager(hook)
    else:
        made = _ELSEWISE
    _FACTORIES[key] = made
    return made


class _Phase:
    """The hooks of one phase, entered in the extensions' order and left in reverse."""

    __slots__ = ("_entered", "_hooks")

    def __init__(self, hooks: list[tuple[_Factory, tuple[Any, ...]]]) -> None:
        self._hooks = hooks
        self._entered: ExitStack | None = None

    def __enter__(self) -> None:
        if not self._hooks:
            return
        stack = self._entered = ExitStack()
        for factory, arguments in self._hooks:
            stack.enter_context(factory(*arguments))

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> bool:
        stack = self._entered
        if stack is None:
            return False
        self._entered = None
        return bool(stack.__exit__(kind, error, trace))

    async def __aenter__(self) -> None:
        self.__enter__()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> bool:
        return self.__exit__(kind, error, trace)


class PreparedHooksRunner(SchemaExtensionsRunner):
    """Strawberry's runner, with each phase's hooks found from the per-class table above."""

    def _phase(self, hook_name: str, *extra: Any) -> _Phase | None:
        hooks = []
        for extension in self.extensions:
            factory = _factory(type(extension), hook_name)
            if factory is _ELSEWISE:
                return None
            if factory is not None:
                hooks.append((factory, (extension, *extra)))
        return _Phase(hooks)

    def operation(self) -> Any:
        return self._phase("on_operation") or super().operation()

    def validation(self) -> Any:
        return self._phase("on_validate") or super().validation()

    def parsing(self) -> Any:
        return self._phase("on_parse") or super().parsing()

    def executing(self) -> Any:
        return self._phase("on_execute") or super().executing()

    def on_stream_result(self, result: Any) -> Any:
        return self._phase("on_stream_result", result) or super().on_stream_result(result)
