"""The GraphQL enums: kinds, visibilities, statuses, review states and orderings of entries."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="The kinds of entries.")
class EntryKind(Enum):
    PROJECT = "project"
    GUIDE = "guide"
    LESSON = "lesson"
    CALL = strawberry.enum_value("call", description="A call for partners.")


@strawberry.enum(description="The form of cooperation a call for partners proposes.")
class CooperationForm(Enum):
    JOINT_PROCUREMENT = "joint_procurement"
    SHARED_SERVICE = "shared_service"
    FUNDING_APPLICATION = strawberry.enum_value("funding_application", description="A joint funding application.")
    EXPERIENCE_EXCHANGE = "experience_exchange"
    PILOT = "pilot"


@strawberry.enum(description="Whether a call for partners is open or closed, and how it was closed.")
class CallState(Enum):
    OPEN = "open"
    FILLED = strawberry.enum_value("filled", description="Closed: enough partners were found.")
    WITHDRAWN = strawberry.enum_value("withdrawn", description="Closed: the call was withdrawn.")


@strawberry.enum(description="Who may see an entry and where it travels.")
class Visibility(Enum):
    PUBLIC = strawberry.enum_value("public", description="Everyone; federates to every peer; open data.")
    NETWORK = strawberry.enum_value("network", description="Members of the alliance; federates only to member peers.")
    LOCAL = strawberry.enum_value("local", description="Members of this node; never leaves it.")
    DRAFT = strawberry.enum_value("draft", description="Only its publisher; never leaves the node.")


@strawberry.enum(description="Where a project stands.")
class ProjectStatus(Enum):
    PLANNED = "planned"
    RUNNING = "running"
    COMPLETED = "completed"
    STOPPED = "stopped"


@strawberry.enum(description="Review state of a guide.")
class ReviewState(Enum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


@strawberry.enum(description="Orderings of the catalogue.")
class EntryOrder(Enum):
    NEWEST = strawberry.enum_value("newest", description="Most recently changed first (default).")
    OLDEST = strawberry.enum_value("oldest", description="Least recently changed first.")
    TITLE = strawberry.enum_value("title", description="By title, A to Z.")
    RELEVANCE = strawberry.enum_value("relevance", description="Best full-text match first (with `text`).")
    ENDORSED = strawberry.enum_value("endorsed", description="Most endorsed by organisations first.")
