"""Joining a Ray cluster with the authentication it asks for (Ray's token authentication).

A cluster started with `ray start` where a token exists (or with RAY_AUTH_MODE=token) accepts
only callers that send its token; Ray's own driver sends one only with RAY_AUTH_MODE=token
(https://docs.ray.io/en/latest/ray-security/token-auth.html). `match_auth` asks the cluster once,
before `ray.init`, and either turns token mode on for this driver or fails at once with what to
set, instead of Ray's 20 s of retried InvalidAuthToken lines.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from bench.suite.errors import ExecutorError

AUTH_MODE = "RAY_AUTH_MODE"
GET_TOKEN = "`ray get-auth-token` on the head"


def token_source() -> str | None:
    """Where Ray reads this process's token from (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, the file
    ~/.ray/auth_token, in that order), or None if there is none."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return "RAY_AUTH_TOKEN"
    if os.environ.get("RAY_AUTH_TOKEN_PATH"):
        return f"RAY_AUTH_TOKEN_PATH ({os.environ['RAY_AUTH_TOKEN_PATH']})"
    home = os.environ.get("HOME")
    if home and (Path(home) / ".ray" / "auth_token").is_file():
        return "~/.ray/auth_token"
    return None


@contextlib.contextmanager
def _quiet_stderr():
    """File descriptor 2 to /dev/null (Ray's C++ client logs each refusal there)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class ProbeFailed(Exception):
    """Ray's private API for asking a cluster about its authentication did not work here."""


def _refuses_us(address: str) -> bool:
    """Whether the GCS at `address` refuses this process's credentials (one RPC, milliseconds).

    Ray 2.60 has no public call for this, so it uses ray._raylet.GcsClient (hence the pin of
    ray in pyproject.toml); anything but Ray's AuthenticationError from it is ProbeFailed.
    """
    try:
        from ray._raylet import GcsClient
        from ray.exceptions import AuthenticationError
    except ImportError as err:
        raise ProbeFailed(f"importing ray._raylet.GcsClient failed ({err})") from err
    try:
        with _quiet_stderr():
            GcsClient(address=address)  # asks for the cluster id, with a token in token mode
    except AuthenticationError:
        return True
    except Exception as err:
        raise ProbeFailed(f"ray._raylet.GcsClient raised {type(err).__name__}: {err}") from err
    return False


def _enable_token_mode() -> None:
    """RAY_AUTH_MODE=token for this process (and Ray's cached config), as `ray.init()` does;
    ProbeFailed where Ray's private config API is not what 2.60 has."""
    try:
        from ray._raylet import AuthenticationTokenLoader, Config

        os.environ[AUTH_MODE] = "token"
        Config.initialize("")
        AuthenticationTokenLoader.instance().reset_cache()
    except (ImportError, AttributeError, TypeError) as err:
        raise ProbeFailed(f"turning token mode on through ray._raylet failed ({err})") from err


def _unavailable(address: str, why: str) -> ExecutorError:
    """The one line a failed probe gives: what was tried, and what to set instead."""
    return ExecutorError(f"could not ask the Ray cluster at {address!r} whether it wants token "
                         f"authentication: {why}; set {AUTH_MODE}=token (with the cluster's "
                         f"token, {GET_TOKEN}) or {AUTH_MODE}=disabled yourself, and compbench "
                         "leaves the mode as you set it")


def match_auth(address: str) -> None:
    """Make this driver authenticate as the cluster at `address` requires, or raise ExecutorError.

    RAY_AUTH_MODE set by the user is kept as it is; unset, it becomes `token` when the cluster
    refuses a caller without one and this machine has a token. Raised errors name the address,
    where the token was read from, and what to set. Where Ray's private API fails (another Ray
    version), a user's own RAY_AUTH_MODE stands; without one, the failure is an ExecutorError.
    """
    if address in ("auto", "local") or "://" in address:
        return  # Ray finds "auto" itself (and enables tokens for it); ray:// is Ray Client's
    mode = os.environ.get(AUTH_MODE)
    try:
        from ray._private.services import canonicalize_bootstrap_address
    except ImportError as err:
        if mode is not None:
            return
        raise _unavailable(address, f"importing ray._private.services failed ({err})") from None
    try:
        gcs = canonicalize_bootstrap_address(address)
    except ValueError:
        return  # not host:port; ray.init says so
    try:
        refused = _refuses_us(gcs)
    except ProbeFailed as err:
        if mode is not None:
            return  # the user chose the mode; ray.init reports a mismatch
        raise _unavailable(address, str(err)) from None
    if not refused:
        return
    source = token_source()
    if mode is not None and mode.lower() != "token":
        raise ExecutorError(f"the Ray cluster at {address!r} requires token authentication, but "
                            f"{AUTH_MODE}={mode}: set {AUTH_MODE}=token (or unset it) and give "
                            f"this machine the cluster's token ({GET_TOKEN}) in ~/.ray/auth_token "
                            "or RAY_AUTH_TOKEN")
    if source is None:
        raise ExecutorError(f"the Ray cluster at {address!r} requires token authentication, and "
                            f"this machine has no token: put the cluster's token ({GET_TOKEN}) in "
                            "~/.ray/auth_token or RAY_AUTH_TOKEN")
    if mode is None:
        try:
            _enable_token_mode()
            if not _refuses_us(gcs):
                return
        except ProbeFailed as err:
            raise _unavailable(address, str(err)) from None
    raise ExecutorError(f"the Ray cluster at {address!r} refused the authentication token from "
                        f"{source}: use the cluster's token ({GET_TOKEN}) in ~/.ray/auth_token "
                        "or RAY_AUTH_TOKEN")
