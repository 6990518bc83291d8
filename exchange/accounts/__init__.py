"""People on a node: persons, their memberships and roles, how they sign in, what they did.

`models` holds the tables; `people` the persons, operators, invitations and
roles of each membership; `roles` the one table of who may do what, which
the API and the web forms consult; `links` the sign-in links sent by e-mail
through `mail`; `audit` the log of sign-ins, invitations, role and token
changes; `demo` the demo operator of `exchange serve --demo`.
"""

# Its modules are imported one by one: people and links use exchange.auth,
# which reads memberships and roles from here, so this file imports none of them.
__all__: list[str] = []
