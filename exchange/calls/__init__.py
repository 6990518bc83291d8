"""Calls for partners: a municipality says what it plans and looks for partners.

A call is the fourth kind of entry (kind "call"), published, revised, closed
and federated like the others; its terms (form of cooperation, region or
radius, size classes sought, number of partners, deadline, state) are one
JSON object checked by `terms`. `answers` writes answers (addressed to the
call's node only) and takes those addressed to this node. `partners` suggests partners for a call
through the peer matcher; `subscriptions` keeps saved searches for new
calls (Atom feed, e-mail digest). Answers to a call, refused answers and the
subscriptions to new calls are the tables of `models`.
"""

from exchange.calls.answers import (
    ADDRESSED,
    AnswerRefused,
    Answers,
    answers_to,
    owner_notifier,
    unseen_answers,
)
from exchange.calls.models import ANSWER_STATES, Answer, Refusal, Subscription
from exchange.calls.partners import PartnerCache, suggested_partners
from exchange.calls.subscriptions import (
    DigestTimer,
    atom,
    by_token,
    calls_for,
    own_subscription,
    send_digests,
    subscribe,
    unsubscribe,
    unsubscribe_feed,
)
from exchange.calls.terms import (
    BLANK,
    CLOSED,
    FORMS,
    MAX_PARTNERS,
    MAX_RADIUS_KM,
    STATES,
    clean_terms,
    closing,
    is_open,
    received_terms,
)

__all__ = [
    "ADDRESSED",
    "ANSWER_STATES",
    "BLANK",
    "CLOSED",
    "FORMS",
    "MAX_PARTNERS",
    "MAX_RADIUS_KM",
    "STATES",
    "Answer",
    "AnswerRefused",
    "Answers",
    "DigestTimer",
    "PartnerCache",
    "Refusal",
    "Subscription",
    "answers_to",
    "atom",
    "by_token",
    "calls_for",
    "clean_terms",
    "closing",
    "is_open",
    "own_subscription",
    "owner_notifier",
    "received_terms",
    "send_digests",
    "subscribe",
    "suggested_partners",
    "unseen_answers",
    "unsubscribe",
    "unsubscribe_feed",
]
