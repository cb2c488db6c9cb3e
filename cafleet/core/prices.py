"""What tokens cost and how much context each model holds: a built-in table of common models,
which the user overrides or extends in `$XDG_CONFIG_HOME/cafleet/prices.toml`. No network:
a model in neither has its tokens shown and its cost unknown (`?`)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from cafleet.core.errors import InvalidInput
from cafleet.core.usage import MemberUsage, Tokens


class Price(NamedTuple):
    """US dollars per million tokens, and the model's context window in tokens."""

    input: float
    cached_input: float
    output: float
    context_window: int | None = None

    def cost(self, tokens: Tokens) -> float:
        return (tokens.fresh * self.input + tokens.cached * self.cached_input + tokens.output * self.output) / 1_000_000


# Providers' list prices when this table was written (standard tier, the lowest context tier):
# a starting point, not a bill. prices.toml corrects or adds any model.
BUILT_IN: dict[str, Price] = {
    "claude-opus-4-5": Price(5.0, 0.5, 25.0, 200_000),
    "claude-opus-4-1": Price(15.0, 1.5, 75.0, 200_000),
    "claude-opus-4": Price(15.0, 1.5, 75.0, 200_000),
    "claude-sonnet-4-5": Price(3.0, 0.3, 15.0, 200_000),
    "claude-sonnet-4": Price(3.0, 0.3, 15.0, 200_000),
    "claude-3-7-sonnet": Price(3.0, 0.3, 15.0, 200_000),
    "claude-haiku-4-5": Price(1.0, 0.1, 5.0, 200_000),
    "claude-3-5-haiku": Price(0.8, 0.08, 4.0, 200_000),
    "gpt-5": Price(1.25, 0.125, 10.0, 400_000),
    "gpt-5-codex": Price(1.25, 0.125, 10.0, 400_000),
    "gpt-5.1": Price(1.25, 0.125, 10.0, 400_000),
    "gpt-5.1-codex": Price(1.25, 0.125, 10.0, 400_000),
    "gpt-5-mini": Price(0.25, 0.025, 2.0, 400_000),
    "gpt-5.1-codex-mini": Price(0.25, 0.025, 2.0, 400_000),
    "gpt-5-nano": Price(0.05, 0.005, 0.4, 400_000),
    "gpt-4.1": Price(2.0, 0.5, 8.0, 1_047_576),
    "gpt-4.1-mini": Price(0.4, 0.1, 1.6, 1_047_576),
    "gpt-4o": Price(2.5, 1.25, 10.0, 128_000),
    "gpt-4o-mini": Price(0.15, 0.075, 0.6, 128_000),
    "o3": Price(2.0, 0.5, 8.0, 200_000),
    "o4-mini": Price(1.1, 0.275, 4.4, 200_000),
    "gemini-3-pro-preview": Price(2.0, 0.2, 12.0, 1_048_576),
    "gemini-2.5-pro": Price(1.25, 0.125, 10.0, 1_048_576),
    "gemini-2.5-flash": Price(0.3, 0.03, 2.5, 1_048_576),
    "gemini-2.5-flash-lite": Price(0.1, 0.01, 0.4, 1_048_576),
    "qwen3-coder-plus": Price(1.0, 0.1, 5.0, 1_000_000),
}
# What may follow a known name in a dated or tagged id (claude-sonnet-4-5-20250929, …@latest).
_SUFFIX_MARKS = ("-", "@", ":")
_FIELDS = {"input": float, "cached_input": float, "output": float, "context_window": int}


class PriceTable(NamedTuple):
    models: Mapping[str, Price]

    def price(self, model: str | None) -> Price | None:
        """The price of `model`: its own entry, else (a provider's `provider/model` name less the
        provider) the longest entry it extends with a date or tag."""
        if not model:
            return None
        for name in (model, model.rsplit("/", 1)[-1]):
            if name in self.models:
                return self.models[name]
            extended = [key for key in self.models if name.startswith(tuple(key + mark for mark in _SUFFIX_MARKS))]
            if extended:
                return self.models[max(extended, key=len)]
        return None

    def cost(self, usage: MemberUsage, since: float | None = None) -> float | None:
        """What the answers cost (since `since`), or None when one of them is of a model with no price."""
        total = 0.0
        for answer in usage.answers:
            if since is not None and (answer.at is None or answer.at < since):
                continue
            price = self.price(answer.model)
            if price is None:
                return None
            total += price.cost(answer.tokens)
        return total

    def context_window(self, usage: MemberUsage) -> int | None:
        """The window of the model in use: as the agent's file says, else the table's."""
        if usage.context_window:
            return usage.context_window
        price = self.price(usage.model)
        return price.context_window if price else None


def prices_path() -> Path:
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(Path.home(), ".config")
    return Path(config_home) / "cafleet" / "prices.toml"


def load_prices(path: Path | None = None) -> PriceTable:
    """The built-in table with the user's file over it (a missing file changes nothing)."""
    path = path or prices_path()
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        return PriceTable(BUILT_IN)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"cannot read the price file {path}: {exc}; fix it or move it aside") from None
    models = document.get("models", {})
    extra = sorted(set(document) - {"models"})
    if extra or not isinstance(models, dict):
        raise InvalidInput(
            f'price file {path}: only [models."NAME"] tables are understood (found {", ".join(extra) or "models"})'
        )
    table = dict(BUILT_IN)
    for name, fields in models.items():
        table[name] = _price(path, name, fields, table.get(name))
    return PriceTable(table)


def _price(path: Path, name: str, fields: object, known: Price | None) -> Price:
    where = f'price file {path}, [models."{name}"]'
    if not isinstance(fields, dict):
        raise InvalidInput(f"{where}: expected a table of {', '.join(_FIELDS)}")
    unknown = sorted(set(fields) - set(_FIELDS))
    if unknown:
        raise InvalidInput(f"{where}: unknown key {unknown[0]!r}; the keys are {', '.join(_FIELDS)}")
    values: dict[str, float | int | None] = dict(known._asdict()) if known else {}
    for key, value in fields.items():
        kind = _FIELDS[key]
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or value < 0 or (kind is int and (not isinstance(value, int) or value == 0)):
            wanted = "a whole number of tokens above 0" if kind is int else "a number of dollars per million tokens, 0 or more"
            raise InvalidInput(f"{where}: {key} = {value!r} is not {wanted}")
        values[key] = kind(value)
    if "input" not in values or "output" not in values:
        raise InvalidInput(f"{where}: a model not in the built-in table needs input and output (dollars per million tokens)")
    values.setdefault("cached_input", values["input"])
    values.setdefault("context_window", None)
    return Price(**values)  # type: ignore[arg-type]
