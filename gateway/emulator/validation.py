"""Declarative validation of MetaStudio create/command request bodies, naming the offending field."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping

from gateway.emulator.request_rules import RULES, Rule
from gateway.emulator.request_shapes import MODELS, SCALARS, Shape

_RESIZE_RESOLUTIONS = ((1920, 1080), (1080, 1920), (1280, 720), (720, 1280), (3840, 2160), (2160, 3840))
_SSML_TAG = re.compile(r"<[^<>]*>")


class InvalidRequest(Exception):
    """A request body the upstream would answer with 400 MSS.00000003; str() names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


def validate_request(model: str, body: object) -> None:
    """Raise InvalidRequest for the first rule `body` breaks as an instance of upstream `model`."""
    if model not in MODELS:
        raise ValueError(f"unknown request model {model}")
    if not isinstance(body, Mapping):
        raise InvalidRequest("", "request body must be a JSON object")
    _check_object(model, body, "")


def _check_object(model: str, body: Mapping[object, object], prefix: str) -> None:
    shapes = MODELS[model]
    rules = RULES.get(model, {})
    for name in body:
        if name not in shapes:
            raise InvalidRequest(f"{prefix}{name}", "is not a known field")
    for name, shape in shapes.items():
        rule = rules.get(name, Rule())
        value = body.get(name)
        path = f"{prefix}{name}"
        if value is None:
            if rule.required:
                raise InvalidRequest(path, "is required")
            continue
        if shape.is_list:
            _check_list(shape, rule, value, path)
        else:
            _check_value(shape.kind, rule, value, path)
    for check in _MODEL_CHECKS.get(model, ()):
        check(body, prefix)


def _check_list(shape: Shape, rule: Rule, value: object, path: str) -> None:
    if not isinstance(value, list):
        raise InvalidRequest(path, "must be an array")
    if rule.items is not None:
        low, high = rule.items
        if not low <= len(value) <= high:
            count = f"exactly {low}" if low == high else f"between {low} and {high}"
            raise InvalidRequest(path, f"must have {count} item{'s' if high != 1 else ''}")
    item_rule = Rule(one_of=rule.one_of)
    for index, item in enumerate(value):
        _check_value(shape.kind, item_rule, item, f"{path}[{index}]")
    if rule.unique is not None:
        seen: set[object] = set()
        for index, item in enumerate(value):
            key = item.get(rule.unique) if isinstance(item, Mapping) else None
            if key is None:
                continue
            if key in seen:
                raise InvalidRequest(f"{path}[{index}].{rule.unique}", f"{key} is used more than once")
            seen.add(key)


def _check_value(kind: str, rule: Rule, value: object, path: str) -> None:
    if kind in MODELS:
        if not isinstance(value, Mapping):
            raise InvalidRequest(path, "must be an object")
        _check_object(kind, value, f"{path}.")
        return
    if not _has_kind(kind, value):
        raise InvalidRequest(path, f"must be {SCALARS[kind]}")
    for problem in _rule_problems(rule, value):
        raise InvalidRequest(path, problem)


def _has_kind(kind: str, value: object) -> bool:
    # bool is an int subclass in Python, but JSON true is never a number.
    if isinstance(value, bool):
        return kind == "bool"
    if kind == "int":
        return isinstance(value, int)
    if kind == "float":
        return isinstance(value, int | float)
    return kind == "str" and isinstance(value, str)


def _rule_problems(rule: Rule, value: object) -> Iterator[str]:
    if rule.between is not None and isinstance(value, int | float):
        low, high = rule.between
        if not low <= value <= high:
            yield f"must be between {_number(low)} and {_number(high)}"
    if not isinstance(value, str):
        return
    if rule.one_of is not None and value not in rule.one_of:
        yield f"must be one of {', '.join(rule.one_of)}"
    if rule.length is not None:
        shortest, longest = rule.length
        if len(value) < shortest:
            yield "must not be empty" if shortest == 1 else f"must be at least {shortest} characters"
        if longest is not None and len(value) > longest:
            yield f"must be at most {longest} characters"
    if rule.pattern is not None and value and not re.fullmatch(rule.pattern[0], value):
        yield f"must be {rule.pattern[1]}"
    if rule.plain_text_max is not None and len(_SSML_TAG.sub("", value)) > rule.plain_text_max:
        yield f"must be at most {rule.plain_text_max} characters without SSML tags"


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _required_without_script(body: Mapping[object, object], prefix: str) -> None:
    # The page lets model_asset_id, voice_config, video_config and shoot_scripts be left out only
    # when script_id names a script that supplies them.
    if body.get("script_id") is not None:
        return
    for name in ("model_asset_id", "voice_config", "video_config", "shoot_scripts"):
        if body.get(name) is None:
            raise InvalidRequest(f"{prefix}{name}", "is required when script_id is not given")


def _resize_resolution(body: Mapping[object, object], prefix: str) -> None:
    if body.get("clip_mode", "RESIZE") != "RESIZE":
        return
    size = (body.get("width"), body.get("height"))
    if size not in _RESIZE_RESOLUTIONS:
        allowed = ", ".join(f"{w}x{h}" for w, h in _RESIZE_RESOLUTIONS)
        raise InvalidRequest(
            f"{prefix}width", f"with clip_mode RESIZE, width x height must be one of {allowed}"
        )


def _background_needs_its_value(body: Mapping[object, object], prefix: str) -> None:
    needed = {"IMAGE": "background_config", "COLOR": "background_color_config"}[str(body["background_type"])]
    if body.get(needed) is None:
        raise InvalidRequest(
            f"{prefix}{needed}", f"is required when background_type is {body['background_type']}"
        )


def _photo_script_fields(body: Mapping[object, object], prefix: str) -> None:
    # A photo video's script supports only script_type and text_config.
    for index, item in enumerate(_as_list(body.get("shoot_scripts"))):
        script = item.get("shoot_script") if isinstance(item, Mapping) else None
        if not isinstance(script, Mapping):
            continue
        for name in script:
            if name not in ("script_type", "text_config"):
                raise InvalidRequest(
                    f"{prefix}shoot_scripts[{index}].shoot_script.{name}",
                    "is not supported for photo digital human videos",
                )


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


_MODEL_CHECKS: dict[str, tuple[Callable[[Mapping[object, object], str], None], ...]] = {
    "Create2DDigitalHumanVideoReq": (_required_without_script,),
    "CreatePhotoDigitalHumanVideoReq": (_photo_script_fields,),
    "VideoConfig": (_resize_resolution,),
    "BackgroundConfigInfo": (_background_needs_its_value,),
}
