"""The GraphQL type of a controlled topic (Musterdatenkatalog), with German and English labels."""

from __future__ import annotations

import strawberry
from strawberry import Info

from exchange import models


@strawberry.type(description="A controlled topic with German and English labels.")
class Topic:
    slug: str = strawberry.field(description="Stable identifier, used in filters and URLs.")
    label_de: str = strawberry.field(description="German label.")
    label_en: str = strawberry.field(description="English label.")
    scheme: str = strawberry.field(description="The vocabulary it comes from (mdk: Musterdatenkatalog).")
    eu_theme: str | None = strawberry.field(description="Code of the EU data theme it maps to (e.g. GOVE).")
    _parent_id: strawberry.Private[int | None]
    _id: strawberry.Private[int]

    @strawberry.field(description="Label in the requested language (de or en).")
    def label(self, language: str = "de") -> str:
        return self.label_en if language == "en" else self.label_de

    @strawberry.field(description="The broader topic, if any.")
    def parent(self, info: Info) -> Topic | None:
        if self._parent_id is None:
            return None
        return _parent_topic(info, self._parent_id)  # type: ignore[return-value]

    @classmethod
    def from_model(cls, t: models.Topic) -> Topic:
        return cls(slug=t.slug, label_de=t.label_de, label_en=t.label_en, scheme=t.scheme,
                   eu_theme=t.eu_theme or None, _parent_id=t.parent_id, _id=t.id)  # type: ignore[attr-defined]


def topic_of(t: models.Topic) -> Topic:
    return Topic.from_model(t)


async def _parent_topic(info: Info, parent_id: int) -> Topic | None:
    t = await info.context.loaders.topic.load(parent_id)
    return topic_of(t) if t else None
