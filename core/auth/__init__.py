"""Accounts and sign-in for multi-user mode: users and roles, Argon2id password hashes,
rate-limited sign-in, the sign-in mode, and the mapping of OIDC identities to users."""

from core.auth.accounts import ROLES, User, add_user, count_users, get_user, list_users, remove_user, set_password
from core.auth.mode import ACCOUNTS, OIDC, SINGLE, auth_mode, is_multi_user
from core.auth.signin import SignInError, authenticate

__all__ = ["ACCOUNTS", "OIDC", "ROLES", "SINGLE", "SignInError", "User", "add_user", "auth_mode", "authenticate",
           "count_users", "get_user", "is_multi_user", "list_users", "remove_user", "set_password"]
