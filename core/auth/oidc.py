"""Map an OpenID Connect identity (Streamlit's ``st.user`` claims) to a MedLens account.

An administrator links an account to an identity with
``python -m core users add NAME --role R --oidc ID`` (or ``users set NAME --oidc ID``), where ID
is the provider's ``sub`` claim or the user's e-mail. The ``sub`` is tried first; the e-mail
only when the provider does not say it is unverified. The provider proves who someone is;
MedLens still decides whether they have an account and which role.
"""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import Engine

from core.auth import accounts
from core.auth.signin import SignInError


def identities(claims: Mapping[str, Any]) -> list[str]:
    """The identities to look up, strongest first: ``sub``, then a not-unverified ``email``."""
    found = []
    sub = str(claims.get("sub") or "").strip()
    if sub:
        found.append(sub)
    email = str(claims.get("email") or "").strip()
    if email and claims.get("email_verified") is not False:
        found.append(email)
    return found


def resolve(claims: Mapping[str, Any], engine: Engine | None = None) -> accounts.User:
    """The account the identity is linked to, or ``SignInError`` saying what an admin must do."""
    ids = identities(claims)
    if not ids:
        raise SignInError("The identity provider sent neither a subject nor an e-mail.")
    user = accounts.find_external(ids, engine=engine)
    if user is None:
        shown = ids[-1]
        raise SignInError(f"{shown} has no MedLens account. An administrator can add one with: "
                          f"python -m core users add NAME --role annotator --oidc {shown}")
    if user.disabled:
        raise SignInError("This account is disabled; ask an administrator.")
    return user
