"""A plan of one object selection, and the function generated to complete it (see schema/plans.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from keyword import iskeyword
from typing import TYPE_CHECKING, Any, NamedTuple

from graphql import GraphQLField, GraphQLObjectType, Undefined
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE

from schema.direct import UNANSWERED, settling_class

if TYPE_CHECKING:
    from schema.plans import PlannedExecutor

# Step kinds.
LEAF, OBJECT, LIST, TYPENAME, GENERAL = range(5)
# How a step reads its value: an attribute; the source's known summary when it has one, else the
# resolver; the resolver with the source alone; the resolver with the source and the context.
BY_ATTRIBUTE, BY_KNOWN, BY_SELF, BY_RESOLVER = range(4)


def _unread(source: Any, info: Any) -> Any:
    raise TypeError("this step reads no value of its own")


class Step(NamedTuple):
    name: str  # the response name
    kind: int
    field_details: FieldDetailsList
    field: GraphQLField | None = None
    # How to read the value: an attribute of the source (a field without a resolver); what a summary
    # field reads of the source's known summary, when there is one; else the direct resolver, called
    # with the context alone.
    how: int = BY_RESOLVER
    attribute: str | None = None
    read_known: Callable[[Any, Any], Any] | None = None
    # A summary field's answer from the source's known summary, where it can tell at once.
    answer_known: Callable[[Any], Any] | None = None
    resolve_self: Callable[[Any], Any] | None = None
    resolve: Callable[[Any, Any], Any] = _unread
    non_null: bool = False
    # Leaves: value types the type gives back unchanged; an enum's class and its names by the members'
    # names; the scalar's coercion.
    unchanged: tuple[type, ...] = ()
    members: type | None = None
    names: Mapping[str, str] | None = None
    coerce: Callable[[Any], Any] | None = None
    # Objects, and lists of them: the object type and the plan of the field's own selection.
    object_type: GraphQLObjectType | None = None
    plan: Plan | None = None


class Raised(NamedTuple):
    """An exception a resolver raised, handed on to graphql-core's handling as if it had called it."""

    error: Exception


class Plan:
    """The steps completing one object type's selection; `complete` is what graphql-core's
    collect_and_execute_subfields would return for it: a function generated for these steps (see
    `_generated`), each step's usual path written out inline and the rest left to `_finish`."""

    __slots__ = ("complete", "object_type", "origin", "source", "steps", "type_name")

    def __init__(self, object_type: GraphQLObjectType, steps: tuple[Step, ...]) -> None:
        self.object_type = object_type
        self.type_name = object_type.name
        self.steps = steps
        self.origin = settling_class(object_type)
        self.source, self.complete = _generated(self)

    def takes(self, value: Any) -> bool:
        """Whether `value` is an object of the plan's type as graphql-core's checks would find it:
        an instance of the type's own class (not cast to another type), where the class settles that."""
        return value.__class__ is self.origin and getattr(value, TYPE_CAST_ATTRIBUTE, None) is None


def _finish(executor: PlannedExecutor, plan: Plan, step: Step, path: Path, value: Any) -> Any:
    """A leaf's answer from the value its field read, past the usual cases the generated code answers
    inline: what graphql-core's completion makes of it, errors included."""
    if value is None:
        if not step.non_null:
            return None
    elif type(value) in step.unchanged:
        return value
    elif step.coerce is not None:
        if not isinstance(value, NOT_VALUES):
            answer = _coerced(step.coerce, value)
            if answer is not None:
                return answer
    elif step.names is not None and value.__class__ is step.members:
        # By the member's name: an enum member's own hash is a Python-level method.
        answer = step.names.get(getattr(value, "_name_", ""))
        if answer is not None:
            return answer
    return executor.complete_resolved(plan.object_type, step, path, value)


def _generated(plan: Plan) -> tuple[str, Callable[[PlannedExecutor, Any, Path], Any]]:
    """The source of the plan's completion and the function it defines. Each step reads its value as
    its `how` says (an attribute read written as one), a leaf whose value is of a type its scalar gives
    back unchanged, or an enum member, is answered inline, and anything else goes to `_finish`, which
    decides as graphql-core would. Names in the source are the steps' constants, bound as globals of
    the function; response names are never part of the source."""
    scope: dict[str, Any] = {
        "Path": Path,
        "Undefined": Undefined,
        "Raised": Raised,
        "NOT_VALUES": NOT_VALUES,
        "_coerced": _coerced,
        "_finish": _finish,
        "_gathered": _gathered,
        "UNANSWERED": UNANSWERED,
        "PLAN": plan,
        "OBJECT_TYPE": plan.object_type,
        "TYPE_NAME": plan.type_name,
    }
    lines = [
        "def complete(executor, source, path):",
        "    info = executor.context_only",
        "    is_awaitable = executor.is_awaitable",
        "    results = {}",
        "    awaited = None",
        "    try:",
    ]
    body: list[str] = []
    for index, step in enumerate(plan.steps):
        name, step_name = f"N{index}", f"S{index}"
        scope[name], scope[step_name] = step.name, step
        if step.kind == TYPENAME:
            body.append(f"results[{name}] = TYPE_NAME")
            continue
        if step.kind == GENERAL:
            body += [
                f"result = executor.execute_field(OBJECT_TYPE, source, {step_name}.field_details,"
                f" Path(path, {name}, TYPE_NAME), None)",
                "if result is not Undefined:",
                f"    results[{name}] = result",
                "    if result is not None and type(result) is not dict and is_awaitable(result):",
                f"        (awaited := awaited or []).append({name})",
            ]
            continue
        body.append("try:")
        attribute = step.attribute
        if step.how == BY_ATTRIBUTE and attribute and attribute.isidentifier() and not iskeyword(attribute):
            body.append(f"    value = source.{attribute}")
        elif step.how == BY_ATTRIBUTE:
            scope[f"A{index}"] = step.attribute
            body.append(f"    value = getattr(source, A{index})")
        elif step.how == BY_SELF:
            scope[f"R{index}"] = step.resolve_self
            body.append(f"    value = R{index}(source)")
        else:
            scope[f"F{index}"] = step.resolve
            if step.how == BY_KNOWN and step.answer_known is not None:
                # The answer itself from the known summary; where it cannot tell, the read as below.
                scope[f"K{index}"], scope[f"W{index}"] = step.read_known, step.answer_known
                taken = "answer is not UNANSWERED" + (" and answer is not None" if step.non_null else "")
                body += [
                    "    known = getattr(source, 'known_summary', None)",
                    f"    answer = W{index}(known) if known is not None else UNANSWERED",
                    f"    if {taken}:",
                    f"        results[{name}] = answer",
                    "        value = UNANSWERED",
                    "    else:",
                    f"        value = K{index}(source, known) if known is not None"
                    f" else F{index}(source, info)",
                    "except Exception as error:",
                    "    value = Raised(error)",
                    "if value is not UNANSWERED:",
                ]
                body += [f"    {line}" for line in _finishing(step, index, scope)]
                continue
            if step.how == BY_KNOWN:
                scope[f"K{index}"] = step.read_known
                body += [
                    "    known = getattr(source, 'known_summary', None)",
                    f"    value = K{index}(source, known) if known is not None else F{index}(source, info)",
                ]
            else:
                body.append(f"    value = F{index}(source, info)")
        body += ["except Exception as error:", "    value = Raised(error)"]
        body += _finishing(step, index, scope)
    lines += [f"        {line}" for line in body or ["pass"]]
    lines += [
        "    except Exception:",
        "        if awaited:",
        "            executor.settle_in_background([results[name] for name in awaited])",
        "        raise",
        "    if awaited is None:",
        "        return results",
        "    return _gathered(results, awaited)",
    ]
    source = "\n".join(lines) + "\n"
    exec(compile(source, f"<plan of {plan.type_name}>", "exec"), scope)  # noqa: S102 - our own source
    return source, scope["complete"]


def _finishing(step: Step, index: int, scope: dict[str, Any]) -> list[str]:
    """The lines answering step `index` from its `value`: the usual cases inline, in `_finish`'s order,
    and the rest through `_finish` (or the executor's completion of an object or a list)."""
    name, step_name = f"N{index}", f"S{index}"
    cases: list[tuple[str, str]] = []  # (condition, the answer to keep)
    if step.kind == LEAF and step.unchanged:
        scope[f"U{index}"] = step.unchanged
        cases.append((f"value is not None and type(value) in U{index}", "value"))
    if not step.non_null:
        cases.append(("value is None", "None"))
    if step.kind == LEAF and step.names is not None:
        scope[f"M{index}"], scope[f"E{index}"] = step.members, step.names
        cases.append(
            (
                f"value.__class__ is M{index} and"
                f" (answer := E{index}.get(getattr(value, '_name_', ''))) is not None",
                "answer",
            )
        )
    elif step.kind == LEAF and step.coerce is not None:
        scope[f"C{index}"] = step.coerce
        cases.append(
            (
                f"value is not None and not isinstance(value, NOT_VALUES)"
                f" and (answer := _coerced(C{index}, value)) is not None",
                "answer",
            )
        )
    if step.kind == OBJECT:
        completion = f"executor.complete_object(OBJECT_TYPE, {step_name}, path, value)"
    elif step.kind == LIST:
        completion = f"executor.complete_list(OBJECT_TYPE, {step_name}, path, value)"
    else:
        completion = f"_finish(executor, PLAN, {step_name}, path, value)"
    lines = []
    for position, (condition, answer) in enumerate(cases):
        lines += [f"{'if' if position == 0 else 'elif'} {condition}:", f"    results[{name}] = {answer}"]
    lines += [
        "else:" if cases else "if True:",
        f"    result = {completion}",
        f"    results[{name}] = result",
        "    if result is not None and type(result) is not dict and is_awaitable(result):",
        f"        (awaited := awaited or []).append({name})",
    ]
    return lines


def _coerced(coerce: Callable[[Any], Any], value: Any) -> Any:
    """A scalar's answer for `value`, or None where the scalar refuses it (`_finish` then decides)."""
    try:
        answer = coerce(value)
    except Exception:
        return None
    return None if answer is Undefined else answer


# What a resolver may give that is no value: an exception it raised or returned.
NOT_VALUES = (Raised, Exception)


async def _gathered(results: dict[str, Any], awaited: list[str]) -> dict[str, Any]:
    if len(awaited) == 1:
        results[awaited[0]] = await results[awaited[0]]
    else:
        values = await gather_with_cancel(*(results[name] for name in awaited))
        results.update(zip(awaited, values, strict=True))
    return results
