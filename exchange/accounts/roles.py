"""Who may do what: one table of (role, action), consulted by the API and the web forms alike.

Roles are held per publisher (`editor`, `curator`, `publisher-admin`) or for
the whole node (`operator`). An API token made before people had accounts
carries scopes instead; each scope stands for the role that grants it
(`publish` for editor, `curate` for curator, `admin` for publisher-admin), so
tokens and people are judged by the same table. Pure values, no I/O.
"""

from __future__ import annotations

EDITOR = "editor"
CURATOR = "curator"
PUBLISHER_ADMIN = "publisher-admin"
OPERATOR = "operator"
PUBLISHER_ROLES = (EDITOR, CURATOR, PUBLISHER_ADMIN)  # what a membership may hold

# Actions. Those of a publisher are checked against the publisher acted for.
WRITE_ENTRIES = "write entries"  # publish, revise, unpublish
CURATE = "curate"  # review decisions, collections, endorsements (organisations)
OWN_TOKENS = "manage own tokens"  # create, name, revoke one's own tokens
PUBLISHER_TOKENS = "manage publisher tokens"  # list and revoke any token of the publisher
MANAGE_PEOPLE = "manage people"  # invite, change role, remove, for the publisher
OPERATE = "operate the node"  # peers, every person, the audit log, operators

ACTIONS = (WRITE_ENTRIES, CURATE, OWN_TOKENS, PUBLISHER_TOKENS, MANAGE_PEOPLE, OPERATE)
PUBLISHER_ACTIONS = (WRITE_ENTRIES, CURATE, OWN_TOKENS, PUBLISHER_TOKENS, MANAGE_PEOPLE)

ALLOWED: frozenset[tuple[str, str]] = frozenset({
    (EDITOR, WRITE_ENTRIES), (EDITOR, OWN_TOKENS),
    (CURATOR, WRITE_ENTRIES), (CURATOR, CURATE), (CURATOR, OWN_TOKENS),
    (PUBLISHER_ADMIN, WRITE_ENTRIES), (PUBLISHER_ADMIN, CURATE), (PUBLISHER_ADMIN, OWN_TOKENS),
    (PUBLISHER_ADMIN, PUBLISHER_TOKENS), (PUBLISHER_ADMIN, MANAGE_PEOPLE),
    # The operator acts for the node, not for a publisher: people and tokens of every
    # publisher, peers and the audit log; writing entries needs a membership like anyone's.
    (OPERATOR, OWN_TOKENS), (OPERATOR, PUBLISHER_TOKENS), (OPERATOR, MANAGE_PEOPLE), (OPERATOR, OPERATE),
})

# A token's scopes and the roles they stand for, both ways.
SCOPE_ROLE = {"publish": EDITOR, "curate": CURATOR, "admin": PUBLISHER_ADMIN}
ROLE_SCOPES: dict[str, frozenset[str]] = {
    EDITOR: frozenset({"publish"}),
    CURATOR: frozenset({"publish", "curate"}),
    PUBLISHER_ADMIN: frozenset({"publish", "curate", "admin"}),
}
SCOPE_ACTION = {"publish": WRITE_ENTRIES, "curate": CURATE, "admin": PUBLISHER_TOKENS}


def allowed(roles: frozenset[str], action: str) -> bool:
    """Whether any of the roles may do the action."""
    return any((role, action) in ALLOWED for role in roles)


def roles_of_scopes(scopes: frozenset[str]) -> frozenset[str]:
    return frozenset(SCOPE_ROLE[s] for s in scopes if s in SCOPE_ROLE)


def scopes_of_role(role: str, publisher_kind: str) -> frozenset[str]:
    """The scopes a membership grants; curating is for organisations only."""
    scopes = ROLE_SCOPES.get(role, frozenset())
    return scopes if publisher_kind == "organisation" else scopes - {"curate"}


def check_role(role: str, publisher_kind: str) -> str:
    """The role, if a membership of this kind of publisher may hold it; else a message."""
    if role not in PUBLISHER_ROLES:
        return f"unknown role {role!r}; roles: {', '.join(PUBLISHER_ROLES)}"
    if role == CURATOR and publisher_kind != "organisation":
        return "the curator role is for organisations only"
    return ""
