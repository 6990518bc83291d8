"""What every resolver of one request can reach: the actor, loaders, services."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from exchange.api.loaders import Loaders
from exchange.auth import Actor
from exchange.catalogue import Catalogue
from exchange.search import CountCache


@dataclass
class Services:
    """Long-lived parts of a node that the API calls into (one per app)."""

    catalogue: Catalogue
    counts: CountCache
    node_name: str
    matcher: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """Per request: who asks, the DataLoaders, and the node's services."""

    actor: Actor
    services: Services
    loaders: Loaders = field(default_factory=Loaders)
    request: Any = None
    # Set by a resolver whose answer must be signed (the change feed): called with the
    # response's status and body bytes, it returns the headers that sign them.
    sign_response: Callable[[int, bytes], Mapping[str, str]] | None = None

    @property
    def catalogue(self) -> Catalogue:
        return self.services.catalogue
