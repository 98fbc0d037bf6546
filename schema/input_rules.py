"""Input rules declared once per field: the words of its description and its check come from one list.

A field declared with `ruled(template, *rules)` gets its SDL description from `template`, each rule's
words put in at its placeholder (`{range}`, `{most}`, ...), and `check_fields` applies the same rules
to the field's value. A rule whose words the template leaves out is refused when the field is
declared, so a checked rule is never missing from what the schema says.
"""

from __future__ import annotations

import abc
import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import strawberry

from schema.user_errors import Path, Problems, UserErrorCode, camel_case

# Where a field's rules are kept in its dataclass metadata.
_RULES = "metastudio-gateway/input-rules"
# The largest GraphQL Int: a range up to it is worded as having no upper bound.
INT_MAX = 2_147_483_647
URL_MAX = 2048


class Rule(abc.ABC):
    """One documented rule of an input field. `placeholder` is where its `words` go in the field's
    description (None for a rule the field's type or default already states)."""

    placeholder: str | None = None

    def words(self) -> str:
        return ""

    @abc.abstractmethod
    def check(self, problems: Problems, path: Path, value: Any, owner: Any) -> bool | None:
        """Add the problems `value` has with this rule; False stops the field's later rules."""


class Required(Rule):
    """A value must be given and not be blank."""

    placeholder: str | None = "required"

    def words(self) -> str:
        return "Required."

    def check(self, problems: Problems, path: Path, value: Any, owner: Any) -> bool | None:
        return problems.required(path, value)


class Present(Required):
    """As Required, for a field whose non-null type or default already says a value is needed: only an
    explicit null or a blank is refused."""

    placeholder = None


@dataclasses.dataclass(frozen=True)
class RequiredWhen(Rule):
    """A value must be given when the field `other` (a GraphQL name) is `value`; with `value` None,
    when `other` is not given."""

    other: str
    value: Any = None
    placeholder = "required"

    def words(self) -> str:
        if self.value is None:
            return f"required without {self.other}"
        return f"required for {getattr(self.value, 'name', self.value)}"

    def check(self, problems: Problems, path: Path, value: Any, owner: Any) -> bool | None:
        if getattr(owner, _snake(self.other)) is not self.value:
            return None
        if self.value is not None:
            return problems.required(path, value)
        if value is None:
            problems.add(
                path, f"{path[-1]} is required when {self.other} is not given", UserErrorCode.REQUIRED
            )
            return False
        return None


@dataclasses.dataclass(frozen=True)
class Between(Rule):
    """A number from `low` to `high`, both included."""

    low: float
    high: float
    placeholder = "range"

    def words(self) -> str:
        return f"{self.low} or more" if self.high == INT_MAX else f"{self.low}-{self.high}"

    def check(self, problems: Problems, path: Path, value: Any, owner: Any) -> bool | None:
        problems.between(path, value, self.low, self.high)
        return None


@dataclasses.dataclass(frozen=True)
class AtMost(Rule):
    """A text of at most `most` characters."""

    most: int
    placeholder = "most"

    def words(self) -> str:
        return str(self.most)

    def check(self, problems: Problems, path: Path, value: Any, owner: Any) -> bool | None:
        problems.at_most(path, value, self.most)
        return None


@dataclasses.dataclass(frozen=True)
class Url(Rule):
    """An http:// or https:// URL of at most `most` characters."""

    most: int = URL_MAX
    placeholder = "most"

    def words(self) -> str:
        return str(self.most)

    def check(self, problems: Problems, path: Path, value: Any, owner: Any) -> bool | None:
        problems.url(path, value, self.most)
        return None


class Color(Rule):
    """A colour written #RRGGBB."""

    placeholder = "color"

    def words(self) -> str:
        return "#RRGGBB"

    def check(self, problems: Problems, path: Path, value: Any, owner: Any) -> bool | None:
        problems.color(path, value)
        return None


@dataclasses.dataclass(frozen=True)
class OneOf(Rule):
    """One of a few values."""

    options: tuple[Any, ...]
    placeholder = "options"

    def words(self) -> str:
        *head, last = (str(option) for option in self.options)
        return f"{', '.join(head)} or {last}" if head else last

    def check(self, problems: Problems, path: Path, value: Any, owner: Any) -> bool | None:
        problems.one_of(path, value, self.options)
        return None


class Custom(Rule):
    """A rule of its own: `worded` for the description at `placeholder`, `checked` as Rule.check."""

    def __init__(
        self, placeholder: str, worded: str, checked: Callable[[Problems, Path, Any, Any], bool | None]
    ) -> None:
        self.placeholder, self.worded, self.checked = placeholder, worded, checked

    def __repr__(self) -> str:
        return f"Custom({self.placeholder!r}, {self.worded!r})"

    def words(self) -> str:
        return self.worded

    def check(self, problems: Problems, path: Path, value: Any, owner: Any) -> bool | None:
        return self.checked(problems, path, value, owner)


def described_by(template: str, rules: Sequence[Rule]) -> str:
    """The description `template` makes with each rule's words at its placeholder."""
    words: dict[str, str] = {}
    for rule in rules:
        if rule.placeholder is None:
            continue
        if "{" + rule.placeholder + "}" not in template or rule.placeholder in words:
            raise ValueError(f"{template!r} must place the words of {rule!r} once, at {{{rule.placeholder}}}")
        words[rule.placeholder] = rule.words()
    return template.format_map(words)


def unruled(description: str, default: Any = None) -> Any:
    """An input field without rules of its own."""
    return strawberry.field(default=default, description=description)


def ruled(
    template: str, *rules: Rule, default: Any = None, default_factory: Any = dataclasses.MISSING
) -> Any:
    """`strawberry.field` for an input field checked by `rules` and described by them (see
    described_by); `default` or `default_factory` as strawberry.field's."""
    metadata = {_RULES: rules}
    description = described_by(template, rules)
    if default_factory is not dataclasses.MISSING:
        return strawberry.field(default_factory=default_factory, description=description, metadata=metadata)
    return strawberry.field(default=default, description=description, metadata=metadata)


def check_fields(
    problems: Problems,
    path: Path,
    owner: Any,
    names: Iterable[str] | None = None,
    *,
    nested: bool = True,
    which: Callable[[Rule], bool] | None = None,
) -> None:
    """Apply the rules of `owner`'s fields `names` (all, in declaration order, when None), each at its
    GraphQL name under `path`, those `which` picks where given; with `nested`, an input within (or a
    list of them) checks itself there."""
    fields = _fields(type(owner))
    for name in fields if names is None else names:
        rules, graphql_name = fields[name]
        value = getattr(owner, name)
        at = [*path, graphql_name]
        for rule in rules:
            if which is not None and not which(rule):
                continue
            if rule.check(problems, at, value, owner) is False:
                break
        if nested and value is not None:
            check_nested(problems, at, value)


def check_nested(problems: Problems, path: Path, value: Any) -> None:
    """An input's own check at `path`, or each item's of a list of inputs; other values have none."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            check_nested(problems, [*path, index], item)
        return
    check = getattr(value, "check", None)
    if check is not None and dataclasses.is_dataclass(value):
        check(problems, path)


class Checked:
    """An input whose check is its fields' rules, nested inputs included, in declaration order."""

    def check(self, problems: Problems, path: Path) -> None:
        check_fields(problems, path, self)


_FIELDS: dict[type, Mapping[str, tuple[Sequence[Rule], str]]] = {}


def _fields(cls: type) -> Mapping[str, tuple[Sequence[Rule], str]]:
    """By Python name: each field's rules and its GraphQL name, worked out once per input class."""
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = {
            field.name: (field.metadata.get(_RULES, ()), camel_case(field.name))
            for field in dataclasses.fields(cls)
        }
    return found


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
