"""Awaitables that start their work only when awaited (federation's `_entities`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, Generic, TypeVar

__all__ = ["Later"]

T = TypeVar("T")


class Later(Generic[T]):
    """An awaitable that starts its work only when awaited.

    strawberry's `_entities` calls `resolve_reference` for every representation
    before any result is awaited, and drops them all when a later representation
    names an unknown type: a lookup started eagerly (a coroutine) would then be
    left never awaited. This one starts nothing until graphql-core awaits it."""

    __slots__ = ("_start",)

    def __init__(self, start: Callable[[], Awaitable[T]]) -> None:
        self._start = start

    def __await__(self) -> Generator[Any, None, T]:
        return self._start().__await__()
